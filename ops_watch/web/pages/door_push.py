"""Door events pushed by the devices (Hikvision ISAPI HTTP listening): filled in by issue 19 §2."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
