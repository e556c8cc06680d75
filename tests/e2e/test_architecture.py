"""The Architecture page in a real browser: presets, clicking units in the network plot to trace
them, the break-it switch, and screenshots at 1280x720 for the projector."""

from __future__ import annotations

import re
from urllib.parse import urlencode

from playwright.sync_api import expect

from made_viz.ui import DEFAULT_PRESET, PRESETS
from made_viz.urlstate import canonical_params

from .conftest import goto, wait_idle

# JavaScript: the page coordinates of the node whose customdata starts with (layer, unit, bin)
_NODE_XY = """
([layer, unit, bin]) => {
  for (const gd of document.querySelectorAll('.js-plotly-plot')) {
    const tr = (gd.data || []).find(t => t.name === 'units' || t.name === 'bundles');
    if (!tr) continue;
    const i = tr.customdata.findIndex(c => c[0] === layer && c[1] === unit && c[2] === bin);
    if (i < 0) return null;
    const fl = gd._fullLayout, r = gd.getBoundingClientRect();
    const x = r.left + fl.xaxis._offset + fl.xaxis.l2p(tr.x[i]);
    const y = r.top + fl.yaxis._offset + fl.yaxis.l2p(tr.y[i]);
    return [x, y];
  }
  return null;
}
"""


def open_architecture(page, app_url):
    """From the app's entry point, through the sidebar's page link, as a student does."""
    goto(page, app_url)
    page.get_by_test_id("stSidebarNavLink").filter(has_text="Architecture").click()
    wait_idle(page)
    expect(page.get_by_role("heading", name="Architecture", level=1)).to_be_visible()


def open_preset_link(page, app_url, preset: str):
    """The Architecture page opened on a teacher's link to preset `preset` (its Config in the URL): one page
    run where the sidebar walk (entry point, page link, preset menu: test_digits_bundles_and_masks and
    test_mnist_is_aggregated_and_stays_responsive) takes three."""
    query = canonical_params(PRESETS[preset].cfg, PRESETS[DEFAULT_PRESET].cfg)
    goto(page, f"{app_url}/architecture?{urlencode(query)}")
    expect(page.get_by_role("heading", name="Architecture", level=1)).to_be_visible()


def pick_preset(page, title: str):
    sidebar = page.get_by_test_id("stSidebar")
    sidebar.get_by_role("combobox", name="Preset").click()  # by its label, not its place
    page.get_by_role("option", name=title).click()
    wait_idle(page)


def wait_network(page):
    """Wait until the network plot has its units and plotly has laid out its axes (the node coordinates
    below are computed from that layout)."""
    page.wait_for_function(
        "() => [...document.querySelectorAll('.js-plotly-plot')].some(gd => (gd.data || [])"
        ".some(t => t.name === 'units' || t.name === 'bundles') && gd._fullLayout && gd._fullLayout.xaxis"
        " && gd._fullLayout.xaxis._offset !== undefined && gd.querySelector('.main-svg'))",
        timeout=30_000,
    )


def click_node(page, layer: int, unit: int, b: int = -1):
    wait_network(page)
    xy = page.evaluate(_NODE_XY, [layer, unit, b])
    assert xy is not None, f"node {(layer, unit, b)} not found in the network plot"
    page.mouse.move(xy[0], xy[1])
    page.locator(".hoverlayer .hovertext").first.wait_for(state="attached", timeout=5_000)  # plotly saw the hover
    page.mouse.click(xy[0], xy[1])
    wait_idle(page)
    wait_network(page)


def test_seed_click_to_trace_and_break_it(page, app_url, shots):
    open_preset_link(page, app_url, "seed")
    expect(page.get_by_test_id("stSidebar").get_by_text("D = 3 ·")).to_be_visible()  # the link's network
    page.get_by_test_id("stMain").get_by_text("Classic figure").click()  # the plotly figure (clicks rerun)
    wait_idle(page)
    wait_network(page)
    main = page.get_by_test_id("stMain")
    expect(main.get_by_text("autoregressive: verified by the Jacobian")).to_be_visible()
    page.screenshot(path=str(shots / "architecture_seed.png"))

    # click hidden unit 0 (degree 1): it sees x1 and feeds the outputs of x2 and x0
    click_node(page, 1, 0)
    expect(main.get_by_text("Tracing hidden 1, unit 0 (degree 1)")).to_be_visible()
    # click output x0 (last in the order): it depends on exactly x1 and x2
    click_node(page, 2, 0)
    expect(main.get_by_text("Tracing output x0 (position 3 in the order)")).to_be_visible()
    expect(main.get_by_text("Exactly the pixels before it in the order")).to_be_visible()
    # the selectbox fallback follows the click
    expect(page.get_by_role("combobox", name="Trace unit…")).to_have_value(re.compile(r"^output x0 \(position 3"))

    # break it: ">=" in the output rule
    main.get_by_text("Output rule ≥").click()
    wait_idle(page)
    wait_network(page)
    expect(main.get_by_text("NOT autoregressive")).to_be_visible()
    badge = main.get_by_test_id("stAlertContentError").first
    expect(badge).to_contain_text(re.compile(r"depends on input.*which is not before it", re.S))
    page.screenshot(path=str(shots / "architecture_broken.png"))
    main.get_by_role("tab", name="Check").click()
    expect(main.get_by_text("not a probability distribution").first).to_be_visible()
    # and repair it
    main.get_by_text("Output rule ≥").click()
    wait_idle(page)
    expect(main.get_by_text("autoregressive: verified by the Jacobian")).to_be_visible()


def test_digits_bundles_and_masks(page, app_url, shots):
    open_architecture(page, app_url)
    pick_preset(page, "8x8 digits, two hidden layers")
    wait_network(page)
    main = page.get_by_test_id("stMain")
    expect(main.get_by_text("too many to draw one by one")).to_be_visible()
    click_node(page, 3, -1, 8)  # the bundle of outputs late in the order
    expect(main.get_by_text("Tracing a bundle of")).to_be_visible()
    page.screenshot(path=str(shots / "architecture_digits.png"))
    main.get_by_role("tab", name="Masks").click()
    expect(main.get_by_text("Connectivity: number of paths input → output")).to_be_visible()
    page.screenshot(path=str(shots / "architecture_digits_masks.png"))


def test_mnist_is_aggregated_and_stays_responsive(page, app_url, shots):
    goto(page, f"{app_url}/architecture")  # the sidebar walk from the entry point: test_digits_bundles_and_masks
    pick_preset(page, "MNIST 28x28, one layer of 500")
    wait_network(page)
    main = page.get_by_test_id("stMain")
    expect(main.get_by_text("392,000 edges between")).to_be_visible()
    size = page.evaluate("""() => [...document.querySelectorAll('.js-plotly-plot')]
        .map(gd => JSON.stringify({data: gd.data, layout: gd.layout}).length).reduce((a, b) => a + b, 0)""")
    assert size < 2_000_000
    page.screenshot(path=str(shots / "architecture_mnist_aggregated.png"))
    click_node(page, 1, -1, 0)  # the hidden bundle with the lowest degrees
    expect(main.get_by_text("Tracing a bundle of")).to_be_visible()
