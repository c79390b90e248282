"""The fictional national picture: providers and services of every care type in all 25 veiligheidsregio's,
grouped into the sources that report them.

Deterministic: the same seed and scale give the same world. Names are obviously fictional, phone numbers
are 0800-0000xxx, e-mail addresses end in @example.invalid, and no service has a street address.
Shelters are sized to the population (about 1 family place per 10,000 inhabitants, clearly fewer in a
few regions); a few regions have no perpetrator programme in the mandated framework.
"""
from __future__ import annotations

import random
import re
import uuid
from dataclasses import dataclass, field, replace
from itertools import cycle, islice

from queries.errors import CapacityError
from queries.providers import VIOLENCE_PROFILES
from queries.settings import REFERENCE_DIR

from ..reference_files import read_table

DEFAULT_SEED = 7
DEFAULT_SCALE = 1.0
SCALE_RANGE = (0.1, 5.0)
LANDSDELEN = {
    "Noord": ("VR01", "VR02", "VR03", "VR04", "VR25"),
    "Oost": ("VR05", "VR06", "VR07", "VR08"),
    "Midden-West": ("VR09", "VR10", "VR11", "VR12", "VR13", "VR14"),
    "Zuidwest": ("VR15", "VR16", "VR17", "VR18", "VR19"),
    "Zuid": ("VR20", "VR21", "VR22", "VR23", "VR24"),
}
UNDER_NORM_REGIONS = 5
REGIONS_WITHOUT_MANDATED = 3
EXTRA_LANGUAGES = ("en", "ar", "tr", "pl", "ti", "so", "uk")
_SLUG = re.compile(r"[^a-z0-9]+")


@dataclass(frozen=True)
class Region:
    """A veiligheidsregio with its inhabitants and municipalities (most populous first)."""

    code: str
    name: str
    inhabitants: int
    municipalities: tuple[tuple[str, str], ...]   # (GM code, name)


@dataclass(frozen=True)
class Profile:
    """How a service's figures move: its usual load (1.0 = every place taken), trend and season."""

    pressure: float
    trend: float          # change of the load per year
    season: float         # amplitude of the yearly cycle, busiest in January
    waiting_factor: float  # people waiting per place of load above 0.9
    intake_days: float | None = None
    treatment_days: float | None = None


@dataclass(frozen=True)
class Service:
    key: str               # the readable code, e.g. DEMO-VO-VR13-1
    service_id: str        # the key, or a UUID for services published in HSDS
    name: str
    provider_id: str
    provider_name: str
    care_type: str
    target_groups: tuple[str, ...]
    areas: tuple[str, ...]  # GM codes or veiligheidsregio codes
    region: str             # the veiligheidsregio it serves
    unit: str
    maximum: int
    profile: Profile
    framework: str | None = None
    age_min: int | None = None
    age_max: int | None = None
    whole_family: bool = False
    languages: tuple[str, ...] = ("nl",)
    violence_profiles: tuple[str, ...] = ()
    phone: str = ""
    email: str = ""
    referral_route: str = ""

    @property
    def daily(self) -> bool:
        """Shelters report every day (their figures are fresh for 2 days); the others every week."""
        return self.care_type == "shelter"


@dataclass(frozen=True)
class Source:
    """A provider group's source: its kind, the form its reports take, and its services."""

    id: str
    kind: str               # file | http | hsds
    form: str               # csv_nl | csv_nl_weeks | csv_en | xlsx | feed | hsds_api | hsds_package
    schedule: str
    description: str
    services: tuple[Service, ...]
    stale_weeks: int = 0     # its last report is this many weeks old, and no new ones arrive
    failing: bool = False    # its feed answers with a server error
    fault: str | None = None  # the deliberate error in one row of its current report

    @property
    def live(self) -> bool:
        return not self.stale_weeks and not self.failing

    @property
    def every_weeks(self) -> int:
        """Weeks between regular reports of its weekly services: spreadsheet senders report every 4 weeks."""
        return 4 if self.form == "xlsx" else 1


@dataclass(frozen=True)
class World:
    seed: int
    scale: float
    regions: tuple[Region, ...]
    sources: tuple[Source, ...]

    def services(self) -> list[Service]:
        return [service for source in self.sources for service in source.services]


class DemoError(CapacityError):
    """The demo cannot be made or served as asked."""


def build_world(seed: int = DEFAULT_SEED, scale: float = DEFAULT_SCALE) -> World:
    """The providers, services and sources of the demo for this seed and scale."""
    if not SCALE_RANGE[0] <= scale <= SCALE_RANGE[1]:
        raise DemoError(f"--scale moet tussen {SCALE_RANGE[0]} en {SCALE_RANGE[1]} liggen, niet {scale}",
                        f"--scale must lie between {SCALE_RANGE[0]} and {SCALE_RANGE[1]}, not {scale}")
    regions = load_regions()
    planner = _Planner(seed, scale)
    codes = [region.code for region in regions]
    under_norm = frozenset(planner.rng.sample(codes, UNDER_NORM_REGIONS))
    without_mandated = frozenset(planner.rng.sample(codes, REGIONS_WITHOUT_MANDATED))
    by_care = {
        "shelter": {r.code: planner.shelters(r, r.code in under_norm) for r in regions},
        "trauma_care": {r.code: planner.trauma(r) for r in regions},
        "perpetrator_programme": {r.code: planner.perpetrator(r, r.code not in without_mandated) for r in regions},
        "peer_group": {r.code: planner.peer_groups(r) for r in regions},
    }
    by_code = {region.code: region for region in regions}
    return World(seed, scale, tuple(regions), _sources(seed, planner, by_care, by_code))


def load_regions() -> list[Region]:
    """The 25 veiligheidsregio's with the inhabitants of the newest shipped population file."""
    _, mapping = read_table(REFERENCE_DIR / "regions" / "gemeente_veiligheidsregio.csv")
    _, population = read_table(max((REFERENCE_DIR / "population").glob("*.csv")))
    inhabitants = {row["gemeentecode"]: int(row["inwoners"]) for _, row in population}
    members: dict[tuple[str, str], list[tuple[str, str]]] = {}
    for _, row in mapping:
        key = (row["veiligheidsregio_code"], row["veiligheidsregio_naam"])
        members.setdefault(key, []).append((row["gemeentecode"], row["gemeentenaam"]))
    return [Region(code, name, sum(inhabitants[gm] for gm, _ in gms),
                   tuple(sorted(gms, key=lambda gm: (-inhabitants[gm[0]], gm[0]))))
            for (code, name), gms in sorted(members.items())]


def landsdeel_of(region_code: str) -> str:
    return next(name for name, codes in LANDSDELEN.items() if region_code in codes)


def slug(text: str) -> str:
    return _SLUG.sub("-", text.lower()).strip("-")


def demo_uuid(seed: int, key: str) -> str:
    """A stable UUID for an HSDS object of this demo."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"https://example.invalid/capacity-demo/{seed}/{key}"))


def _sources(seed: int, planner: _Planner, by_care: dict[str, dict[str, list[Service]]],
             regions: dict[str, Region]) -> tuple[Source, ...]:
    def of(care_type: str, *parts: str, leave_out: tuple[str, ...] = ()) -> tuple[Service, ...]:
        return tuple(service for part in parts for code in LANDSDELEN[part] if code not in leave_out
                     for service in by_care[care_type][code])

    def in_hsds(services: tuple[Service, ...]) -> tuple[Service, ...]:
        return tuple(replace(s, service_id=demo_uuid(seed, s.key), provider_id=demo_uuid(seed, s.provider_id))
                     for s in services)

    zeeland = tuple(by_care["shelter"]["VR19"])
    coast = tuple(planner.coast_trauma(regions[code]) for code in ("VR10", "VR12", "VR15", "VR19"))
    east = tuple(planner.extra_perpetrator(regions[code], "Stichting Fictief Plegerhulp Oost", "OOST")
                 for code in LANDSDELEN["Oost"])
    south = tuple(planner.extra_perpetrator(regions[code], "Demo Daderhulp Brabant-Limburg", "ZUID")
                  for code in LANDSDELEN["Zuid"])
    return (
        Source("demo-opvang-noord-oost", "file", "csv_nl", "1m",
               "Vrouwenopvang Noord en Oost: CSV met Nederlandse koppen, ; en decimale komma's",
               of("shelter", "Noord", "Oost"), fault="available_above_maximum"),
        Source("demo-opvang-west", "file", "csv_nl", "1m",
               "Vrouwenopvang Midden-West en Zuidwest: CSV met Nederlandse koppen",
               of("shelter", "Midden-West", "Zuidwest", leave_out=("VR19",))),
        Source("demo-opvang-zuid", "file", "csv_en", "1m", "Vrouwenopvang Zuid: CSV met Engelse koppen",
               of("shelter", "Zuid"), fault="unknown_municipality"),
        Source("demo-opvang-zeeland", "file", "csv_nl", "15m",
               "Vrouwenopvang Zeeland: levert al weken niets meer aan", zeeland, stale_weeks=3),
        Source("demo-trauma-feed", "http", "feed", "1m", "Traumabehandeling Noord, Oost en Midden-West: JSON-feed",
               of("trauma_care", "Noord", "Oost", "Midden-West")),
        Source("demo-trauma-zuid", "file", "xlsx", "1m",
               "Traumabehandeling Zuidwest en Zuid: XLSX, elke 4 weken",
               of("trauma_care", "Zuidwest", "Zuid"), fault="unknown_care_type"),
        Source("demo-traumateam-kust", "file", "csv_nl_weeks", "15m",
               "Traumateam Kust: wachttijden in weken; levert al weken niets meer aan", coast, stale_weeks=7),
        Source("demo-daderhulp", "file", "csv_en", "1m", "Daderhulp in heel Nederland: CSV met Engelse koppen",
               of("perpetrator_programme", *LANDSDELEN)),
        Source("demo-daderhulp-oost", "file", "xlsx", "15m",
               "Plegerhulp Oost (groepen): XLSX; levert al weken niets meer aan", east, stale_weeks=6),
        Source("demo-daderhulp-storing", "http", "feed", "2m",
               "Daderhulp Brabant-Limburg: de feed geeft een serverfout", south, failing=True),
        Source("demo-sociale-kaart", "hsds", "hsds_api", "2m",
               "Lotgenotengroepen Noord, Oost en Midden-West: HSDS 3.1-API",
               in_hsds(of("peer_group", "Noord", "Oost", "Midden-West"))),
        Source("demo-lotgenoten-pakket", "hsds", "hsds_package", "2m",
               "Lotgenotengroepen Zuidwest en Zuid: HSDS 3.1-pakket (map met CSV-bestanden)",
               in_hsds(of("peer_group", "Zuidwest", "Zuid"))),
    )


@dataclass
class _Planner:
    """Draws the services region by region from one seeded generator (the order of calls matters)."""

    seed: int
    scale: float
    rng: random.Random = field(init=False)
    phones: int = 0

    def __post_init__(self) -> None:
        self.rng = random.Random(f"capacity-demo/{self.seed}")

    def count(self, base: float, minimum: int = 1) -> int:
        return max(minimum, round(base * self.scale))

    def shelters(self, region: Region, under_norm: bool) -> list[Service]:
        rng = self.rng
        per_10k = rng.uniform(0.45, 0.7) if under_norm else rng.uniform(0.85, 1.2)
        places = region.inhabitants / 10_000 * per_10k
        kinds = ["Crisisopvang", "Gezinsopvang", "Vrouwenopvang", "Opvang jonge moeders"]
        names = list(islice(cycle(kinds), self.count(1 + region.inhabitants / 600_000)))
        sizes = _split(places, len(names), rng)
        provider = f"Stichting Fictief Opvang {region.name}"
        area = region.code if int(region.code[2:]) % 2 else f"veiligheidsregio:{region.code}"
        return [self.service(
            f"DEMO-VO-{region.code}-{n}", f"Fictieve {kind.lower()} {region.name}", provider, "shelter",
            ("adult_victim", "child"), (area,), region, "place", size,
            Profile(rng.uniform(0.74, 0.92) + (0.08 if under_norm else 0.0), rng.uniform(-0.03, 0.05),
                    rng.uniform(0.03, 0.07), 1.0),
            whole_family=kind != "Crisisopvang", route="via Veilig Thuis of de politie")
            for n, (kind, size) in enumerate(zip(names, sizes), start=1)]

    def trauma(self, region: Region) -> list[Service]:
        rng = self.rng
        intake, treatment = rng.uniform(10, 34), rng.uniform(30, 90)
        kinds = [("gezin", ("adult_victim", "child"), True, (0, 99)), ("kinderen", ("child",), False, (0, 17)),
                 ("volwassenen", ("adult_victim",), False, (18, 99))]
        chosen = list(islice(cycle(kinds), self.count(2 + region.inhabitants / 1_000_000)))
        sizes = _split(region.inhabitants / 45_000 * rng.uniform(0.8, 1.2), len(chosen), rng)
        provider = f"Demo Traumateam {landsdeel_of(region.code)}"
        return [self.service(
            f"DEMO-TR-{region.code}-{n}", f"Demo traumabehandeling {label} {region.name}", provider, "trauma_care",
            groups, (region.code,), region, "treatment_slot", size,
            Profile(rng.uniform(0.8, 1.02), rng.uniform(-0.05, 0.08), rng.uniform(0.02, 0.05), 2.5,
                    intake * rng.uniform(0.85, 1.15), treatment * rng.uniform(0.85, 1.15)),
            ages=ages, whole_family=family, route="via huisarts, wijkteam of Veilig Thuis")
            for n, ((label, groups, family, ages), size) in enumerate(zip(chosen, sizes), start=1)]

    def perpetrator(self, region: Region, has_mandated: bool) -> list[Service]:
        rng = self.rng
        count = self.count(2)
        if not has_mandated:
            frameworks = ["voluntary"] * count
        elif count == 1 or rng.random() < 0.3:
            frameworks = ["both"] + ["voluntary"] * (count - 1)
        else:
            frameworks = ["voluntary", "mandated"] + ["voluntary"] * (count - 2)
        sizes = _split(max(4.0 * count, region.inhabitants / 60_000), count, rng)
        provider = f"Fictieve Daderhulp {landsdeel_of(region.code)}"
        return [self.perpetrator_service(f"DEMO-DH-{region.code}-{n}", provider, region, framework, size)
                for n, (framework, size) in enumerate(zip(frameworks, sizes), start=1)]

    def perpetrator_service(self, key: str, provider: str, region: Region, framework: str, size: int) -> Service:
        rng = self.rng
        label = {"voluntary": "vrijwillig kader", "mandated": "gedwongen kader",
                 "both": "vrijwillig en gedwongen kader"}[framework]
        route = ("via reclassering of Veilig Thuis" if framework != "voluntary"
                 else "zelf aanmelden, via huisarts of Veilig Thuis")
        return self.service(
            key, f"Demo daderhulp {label} {region.name}", provider, "perpetrator_programme", ("perpetrator",),
            (region.code,), region, "group_seat" if framework == "voluntary" else "treatment_slot", size,
            Profile(rng.uniform(0.72, 1.0), rng.uniform(-0.04, 0.07), rng.uniform(0.02, 0.05), 2.0,
                    rng.uniform(10, 34), rng.uniform(25, 75)),
            framework=framework, ages=(18, 99), route=route)

    def peer_groups(self, region: Region) -> list[Service]:
        rng = self.rng
        kinds = [("Demo lotgenotengroep slachtoffers", ("adult_victim",)),
                 ("Demo ervaringsdeskundigen ex-plegers", ("perpetrator",)),
                 ("Demo lotgenotengroep ouders", ("adult_victim",))]
        chosen = list(islice(cycle(kinds), self.count(2 + region.inhabitants / 700_000, minimum=2)))
        towns = list(islice(cycle(region.municipalities[:3]), len(chosen)))
        provider = f"Demo Lotgenotennetwerk {region.name}"
        return [self.service(
            f"DEMO-LG-{region.code}-{n}", f"{label} {town}", provider, "peer_group", groups,
            (gm,) if n % 3 else (region.code,), region, "group_seat", rng.randint(8, 14),
            Profile(rng.uniform(0.55, 0.95), rng.uniform(-0.05, 0.06), rng.uniform(0.03, 0.06), 0.6),
            ages=(18, 99), route="zelf aanmelden")
            for n, ((label, groups), (gm, town)) in enumerate(zip(chosen, towns), start=1)]

    def coast_trauma(self, region: Region) -> Service:
        rng = self.rng
        return self.service(
            f"DEMO-TR-KUST-{region.code}", f"Demo traumateam kust {region.name}", "Demo Traumateam Kust",
            "trauma_care", ("adult_victim", "child"), (region.code,), region, "treatment_slot", rng.randint(4, 9),
            Profile(rng.uniform(0.95, 1.1), rng.uniform(0.0, 0.1), 0.03, 2.5, rng.uniform(30, 50),
                    rng.uniform(70, 120)),
            ages=(0, 99), whole_family=True, route="via huisarts of Veilig Thuis")

    def extra_perpetrator(self, region: Region, provider: str, group: str) -> Service:
        return self.perpetrator_service(f"DEMO-DH-{group}-{region.code}", provider, region, "voluntary",
                                        self.rng.randint(6, 12))

    def service(self, key: str, name: str, provider: str, care_type: str, groups: tuple[str, ...],
                areas: tuple[str, ...], region: Region, unit: str, maximum: int, profile: Profile, *,
                framework: str | None = None, ages: tuple[int | None, int | None] = (None, None),
                whole_family: bool = False, route: str) -> Service:
        rng = self.rng
        self.phones += 1
        return Service(
            key=key, service_id=key, name=name, provider_id=slug(provider), provider_name=provider,
            care_type=care_type, target_groups=groups, areas=areas, region=region.code, unit=unit,
            maximum=maximum, profile=profile, framework=framework, age_min=ages[0], age_max=ages[1],
            whole_family=whole_family,
            languages=("nl", *sorted(rng.sample(EXTRA_LANGUAGES, rng.randint(0, 2)))),
            violence_profiles=tuple(sorted(rng.sample(VIOLENCE_PROFILES, rng.randint(1, 3)))),
            phone=f"0800-{self.phones:07d}", email=f"aanmelden.{key.lower()}@example.invalid",
            referral_route=route)


def _split(total: float, parts: int, rng: random.Random) -> list[int]:
    """`total` places over `parts` services of unequal size (each at least 2)."""
    weights = [rng.uniform(0.7, 1.3) for _ in range(parts)]
    return [max(2, round(total * weight / sum(weights))) for weight in weights]
