"""The retrieval routes Litestar serves: NIM image retrieval and SOLIDO RAG.

(The rerankers, TEI's `/rerank` and Cohere's `/v2/rerank`, carry benchmark load like NIM's
`/v1/ranking`, so they are fast-path inference routes: `mockhttp.inference_endpoints`.)
"""

from litestar.handlers import HTTPRouteHandler

from mockhttp.retrieval.image_retrieval import build_image_retrieval_handlers
from mockhttp.retrieval.rag import build_rag_handlers
from mockhttp.services import Services


def build_retrieval_handlers(services: Services) -> list[HTTPRouteHandler]:
    """Every retrieval route of this app."""
    return [*build_image_retrieval_handlers(services), *build_rag_handlers(services)]
