"""/metrics: Prometheus exposition of ops-watch's state (issue 19 §1)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
