"""/dashboard: the operations dashboard, a static single-page app signing in with code + PKCE.

The pages hold no data: the app signs in at the identity provider (authorization code with PKCE, a
public client), then calls this API with the access token like any partner would, and follows
`/v1/events` for live updates. A strict Content-Security-Policy admits scripts and styles from this
origin only, and connections to this origin and the identity provider.
"""

from __future__ import annotations

from importlib import resources
from urllib.parse import urlsplit

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response

from chargewatch.partner_api.deps import services_of

router = APIRouter(prefix="/dashboard", include_in_schema=False)

_ASSETS = {
    "app.js": "text/javascript; charset=utf-8",
    "app.css": "text/css; charset=utf-8",
}


def _asset(name: str) -> bytes:
    return (resources.files("chargewatch.partner_api") / "dashboard" / name).read_bytes()


def _headers(request: Request) -> dict[str, str]:
    issuer = services_of(request).settings.public_issuer
    parts = urlsplit(issuer)
    idp_origin = f"{parts.scheme}://{parts.netloc}"
    return {
        "Content-Security-Policy": (
            "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
            f"connect-src 'self' {idp_origin}; base-uri 'none'; frame-ancestors 'none'; form-action 'none'"
        ),
        "X-Frame-Options": "DENY",
        "Referrer-Policy": "no-referrer",
        "Cache-Control": "no-cache",
    }


@router.get("")
async def dashboard_root() -> RedirectResponse:
    return RedirectResponse("/dashboard/", status_code=308)


@router.get("/")
@router.get("/callback")
async def dashboard_page(request: Request) -> Response:
    return Response(_asset("index.html"), media_type="text/html; charset=utf-8", headers=_headers(request))


@router.get("/config.json")
async def dashboard_config(request: Request) -> JSONResponse:
    settings = services_of(request).settings
    issuer = settings.public_issuer
    return JSONResponse(
        {
            "issuer": issuer,
            "authorization_endpoint": f"{issuer}/protocol/openid-connect/auth",
            "token_endpoint": f"{issuer}/protocol/openid-connect/token",
            "logout_endpoint": f"{issuer}/protocol/openid-connect/logout",
            "client_id": settings.dashboard_client_id,
        },
        headers={"Cache-Control": "no-cache"},
    )


@router.get("/{name}")
async def dashboard_asset(request: Request, name: str) -> Response:
    media_type = _ASSETS.get(name)
    if media_type is None:
        return JSONResponse({"detail": "not found"}, status_code=404)
    return Response(_asset(name), media_type=media_type, headers=_headers(request))
