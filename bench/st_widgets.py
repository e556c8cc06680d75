"""Widget values as Streamlit's frontend keeps them: what a browser would send back for each widget
element it has received (bench/st_client.py's Tab sends these with every rerun)."""

from __future__ import annotations

from streamlit.proto.WidgetStates_pb2 import WidgetState


def _has(msg, name: str) -> bool:
    try:
        return msg.HasField(name)
    except ValueError:  # a plain proto3 scalar: always "there"
        return True


def initial_state(kind: str, p, old: WidgetState | None) -> WidgetState | None:
    """The WidgetState the frontend holds for a widget element that just arrived; None = a widget
    this client does not model (the server then keeps its own value for it)."""
    if old is not None and not getattr(p, "set_value", False):
        return old  # the student's value wins until the app sets one (set_value)
    ws = WidgetState(id=p.id)
    sv = getattr(p, "set_value", False)
    if kind in ("text_input", "text_area", "color_picker"):
        if sv and _has(p, "value"):
            ws.string_value = p.value
        elif _has(p, "default"):
            ws.string_value = p.default
    elif kind == "number_input":
        v = p.value if sv and _has(p, "value") else (p.default if _has(p, "default") else None)
        if v is not None:
            if p.data_type == type(p).INT:
                ws.int_value = int(v)
            else:
                ws.double_value = float(v)
    elif kind in ("selectbox", "radio"):
        if sv and _has(p, "raw_value"):
            ws.string_value = p.raw_value
        elif _has(p, "default") and 0 <= p.default < len(p.options):
            ws.string_value = p.options[p.default]
    elif kind == "checkbox":
        ws.bool_value = p.value if sv else p.default
    elif kind == "slider":
        if p.type == type(p).SELECT_SLIDER:
            vals = list(p.raw_value) if sv else [p.options[int(i)] for i in p.default]
            ws.string_array_value.data.extend(vals)
        else:
            ws.double_array_value.data.extend(list(p.value) if sv else list(p.default))
    elif kind == "multiselect":
        vals = list(p.raw_values) if sv else [p.options[i] for i in p.default]
        ws.string_array_value.data.extend(vals)
    elif kind == "button_group":
        vals = list(p.raw_values) if sv else [p.options[i].content for i in p.default]
        ws.string_array_value.data.extend(vals)
    else:
        return None
    return ws


def state_value(ws: WidgetState):
    which = ws.WhichOneof("value")
    if which is None:
        return None
    v = getattr(ws, which)
    return list(v.data) if hasattr(v, "data") else v
