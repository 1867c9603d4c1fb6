"""RunSpec <-> URL: the whole spec in one query parameter, so a link reproduces a run.

The codec is pure (no Streamlit): compact JSON, zlib, URL-safe base64 without padding.
Only fields that differ from the defaults are written, so links stay short;
`decode_spec` validates like any other spec source and raises SpecError.
"""
from __future__ import annotations

import base64
import binascii
import json
import zlib
from collections.abc import Mapping, MutableMapping

from engine.spec import MAX_BYTES, RunSpec, SpecError, from_json, to_dict

PARAM = "spec"                  # ?spec=...
MAX_PARAM_CHARS = 8_000         # browsers and servers accept URLs of this size


def _diff(d: dict, base: dict) -> dict:
    """Keys of d whose values differ from base, into nested dicts (a network's layers and the
    version are always kept)."""
    out = {}
    for k, v in d.items():
        if isinstance(v, dict) and isinstance(base.get(k), dict):
            if sub := _diff(v, base[k]):
                out[k] = sub
        elif base.get(k) != v or k in ("layers", "version"):
            out[k] = v
    return out


def encode_spec(spec: RunSpec) -> str:
    """A URL-safe string holding `spec` (fields equal to the defaults are left out)."""
    d = _diff(to_dict(spec), to_dict(RunSpec()))
    raw = json.dumps(d, separators=(",", ":"), sort_keys=True).encode()
    return base64.urlsafe_b64encode(zlib.compress(raw, 9)).decode().rstrip("=")


def decode_spec(text: str) -> RunSpec:
    """The RunSpec in `text` (from encode_spec); SpecError with the reason otherwise."""
    if len(text) > MAX_PARAM_CHARS:
        raise SpecError([f"url: the spec parameter is {len(text)} characters, more than {MAX_PARAM_CHARS}"])
    try:
        inflate = zlib.decompressobj()
        raw = inflate.decompress(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)), MAX_BYTES + 1)
    except (binascii.Error, zlib.error, ValueError) as e:
        raise SpecError([f"url: the spec parameter is damaged ({type(e).__name__}); "
                         "copy the whole link again"]) from None
    if len(raw) > MAX_BYTES or inflate.unconsumed_tail:
        raise SpecError([f"url: the spec parameter inflates to more than {MAX_BYTES:,} bytes"])
    if not raw:                                    # a cut-off link inflates to nothing
        raise SpecError(["url: the spec parameter is damaged (empty); copy the whole link again"])
    return from_json(raw)


def spec_from_params(params: Mapping[str, str]) -> RunSpec | None:
    """The spec in query params (st.query_params or a dict), None when there is none."""
    text = params.get(PARAM)
    return decode_spec(text) if text else None


def write_params(params: MutableMapping[str, str], spec: RunSpec) -> None:
    """Put `spec` into query params (st.query_params updates the browser's address bar)."""
    text = encode_spec(spec)
    if params.get(PARAM) != text:
        params[PARAM] = text
