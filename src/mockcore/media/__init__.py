"""The media routes' decisions, pure: what an image, a video job or a transcription will be.

Each module decides what a client can observe (sizes, timing, the parameters of the pixels
or the text, the usage) from the request and the bytes it carried, so `predict`-style code
can say what the server will answer; the adapter (`mockhttp.media`) turns those decisions
into real files with the imaging and codec libraries.
"""
