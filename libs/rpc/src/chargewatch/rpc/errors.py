"""Shared servicer typing and the one way a servicer says a method is not there yet."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, NoReturn

import grpc

if TYPE_CHECKING:
    ServicerContext = grpc.aio.ServicerContext[Any, Any]
else:
    ServicerContext = grpc.aio.ServicerContext


async def not_implemented_yet(context: ServicerContext, method: str, issue: str) -> NoReturn:
    """Answer UNIMPLEMENTED, naming the issue that brings the method, so callers get a clear error."""
    await context.abort(grpc.StatusCode.UNIMPLEMENTED, f"{method} is not implemented yet ({issue})")
    raise AssertionError("unreachable: abort raises")
