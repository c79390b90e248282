"""A few demo providers report only through their personal link: the demo sends their figures as a person on the
form would, through the same checks-and-submission path (ingest/provider_form.py), and their file source no
longer carries them after the first report. Which providers: the first SELF_REPORTING shelter providers of the
live file sources, by provider id (deterministic for a world)."""
from __future__ import annotations

from datetime import datetime

from queries.paths import DataPaths

from ..provider_form import ServiceFigures, new_submission, write_submission
from ..provider_links import LinkStore
from .model import Figures, figures
from .world import Service, World

SELF_REPORTING = 3
LINK_DAYS = 365


def self_reporting_providers(world: World) -> list[str]:
    """The provider ids that report through their link."""
    shelters = sorted({s.provider_id for source in world.sources if source.kind == "file" and source.live
                       for s in source.services if s.care_type == "shelter"})
    return shelters[:SELF_REPORTING]


def ensure_links(paths: DataPaths, world: World) -> dict[str, str]:
    """Provider id -> the id of its live demo link (issued when it has none)."""
    links = LinkStore(paths.provider_links)
    found = {}
    for provider_id in self_reporting_providers(world):
        live = [i for i in links.invites(provider_id) if i.state(datetime.now().timestamp()) == "active"]
        found[provider_id] = live[0].link_id if live else links.issue(provider_id, None, LINK_DAYS).link_id
    return found


def send_self_reports(paths: DataPaths, world: World, moment: datetime) -> int:
    """Each self-reporting provider sends its figures as of `moment` through its link; how many were sent."""
    store = LinkStore(paths.provider_links)
    minute = moment.replace(second=0, microsecond=0)
    sent = 0
    for provider_id, link_id in ensure_links(paths, world).items():
        services = [s for s in world.services() if s.provider_id == provider_id]
        reported = [_typed(s, figures(world.seed, s, minute)) for s in services]
        write_submission(paths, new_submission(link_id, provider_id, reported, now=moment))
        store.count_submission(link_id)
        sent += 1
    return sent


def _typed(service: Service, now: Figures) -> ServiceFigures:
    """What a person would type on the form: the figures as text, waits in days, the status when it says more
    than the free places do."""
    typed = {"available": str(now.available), "maximum": str(now.maximum), "waiting_count": str(now.waiting),
             "wait_days_intake": "" if now.wait_days_intake is None else str(now.wait_days_intake),
             "wait_days_treatment": "" if now.wait_days_treatment is None else str(now.wait_days_treatment),
             "status": now.status if now.status in ("waitlist", "closed") else ""}
    return ServiceFigures(service.service_id, "update", typed, {"wait_days_intake": "days",
                                                                "wait_days_treatment": "days"})
