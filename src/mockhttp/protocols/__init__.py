"""Wire renderers, one module per protocol the server speaks beyond OpenAI chat and completions."""
