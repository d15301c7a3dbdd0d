"""mockcore: the pure domain of aiperf-mock-server.

Values in, values out: no I/O, no clock, no global state. Given a request payload and the
Settings, it decides everything the server sends, so it can also predict it offline.
"""

from mockcore.budget import TokenBudget, natural_length, plan_budget
from mockcore.errors import ErrorInfo, RequestError
from mockcore.faults import InjectedFault, draw_fault
from mockcore.plan import (
    ChoicePlan,
    EmbeddingPlan,
    GenerationPlan,
    PieceCycle,
    Ranking,
    RankingPlan,
    ResponsePlan,
    Usage,
)
from mockcore.predict import Prediction, predict
from mockcore.reasoning import REASONING_BUDGET_TOKENS, is_reasoning_model
from mockcore.requests import Route
from mockcore.service import fault_for, plan_request
from mockcore.settings import Settings
from mockcore.timing import Schedule
from mockcore.tokenizer import count_tokens, split_tokens

__all__ = [
    "REASONING_BUDGET_TOKENS",
    "ChoicePlan",
    "EmbeddingPlan",
    "ErrorInfo",
    "GenerationPlan",
    "InjectedFault",
    "PieceCycle",
    "Prediction",
    "Ranking",
    "RankingPlan",
    "RequestError",
    "ResponsePlan",
    "Route",
    "Schedule",
    "Settings",
    "TokenBudget",
    "Usage",
    "count_tokens",
    "draw_fault",
    "fault_for",
    "is_reasoning_model",
    "natural_length",
    "plan_budget",
    "plan_request",
    "predict",
    "split_tokens",
]
