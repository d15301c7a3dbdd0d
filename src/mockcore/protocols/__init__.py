"""The request types of the protocols beyond OpenAI chat and completions, and their translation.

Each module holds one protocol's request Structs (they define what a valid request is, so
`predict` decodes through them too) and the function that turns a request into the
protocol-neutral `GenerationCommand`.
"""
