"""How many documented v2 fields (the seed's tables plus its samples' extras) the templates produce."""

from __future__ import annotations

from emitter.payloads.catalog import load_catalog
from emitter.payloads.render import Renderer
from tests.conftest import NOW
from tests.payloads.test_v2_contract import FULL_PARAMS, SEEDS, V2_EVENTS
from tests.payloads.v2_docs import doc_paths


def main() -> None:
    catalog = load_catalog()
    renderer = Renderer(catalog)
    print(f"{'EventType':<36} {'documented':>10} {'produced':>9}")
    for event_type in V2_EVENTS:
        documented = {doc.path for doc in catalog.events[event_type].fields["v2"]}
        produced: set[str] = set()
        for seed in SEEDS:
            for params in FULL_PARAMS.get(event_type, [{}]):
                payload = renderer.session(seed=seed, now=NOW).render_event(event_type, params)
                produced |= set(doc_paths(payload))
        print(f"{event_type:<36} {len(documented):>10} {len(documented & produced):>9}")


if __name__ == "__main__":
    main()
