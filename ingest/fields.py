"""The canonical capacity report: its fields, their template headers (Dutch and English), and
the Dutch words providers use for coded values."""
from __future__ import annotations

import re
from dataclasses import dataclass

from queries.providers import VIOLENCE_PROFILES


@dataclass(frozen=True)
class Field:
    """One canonical field: name (= English template header), Dutch header, kind, whether required."""

    name: str
    header_nl: str
    kind: str  # text | int | datetime | bool | code | codes | area | texts
    required: bool
    help_nl: str
    help_en: str


FIELDS: tuple[Field, ...] = (
    Field("service_id", "dienst_id", "text", True,
          "Vaste, unieke code van het aanbod (verandert nooit).", "Stable unique code of the service (never changes)."),
    Field("service_name", "dienst_naam", "text", True, "Naam van het aanbod.", "Name of the service."),
    Field("provider_id", "aanbieder_id", "text", False,
          "Vaste code van de organisatie; leeg = afgeleid van de naam.",
          "Stable code of the organisation; empty = derived from the name."),
    Field("provider_name", "aanbieder_naam", "text", True, "Naam van de organisatie.", "Name of the organisation."),
    Field("care_type", "zorgsoort", "code", True,
          "vrouwenopvang, traumabehandeling, daderhulp of lotgenotengroep.",
          "shelter, trauma_care, perpetrator_programme or peer_group."),
    Field("target_groups", "doelgroepen", "codes", True,
          "Een of meer van: volwassen slachtoffer, kind, pleger (gescheiden door ; of |).",
          "One or more of: adult_victim, child, perpetrator (separated by ; or |)."),
    Field("service_area", "werkgebied", "area", True,
          "Gemeentecodes (GM0363) of regiocodes (VT08, VR13), gescheiden door ; of |.",
          "Municipality codes (GM0363) or region codes (VT08, VR13), separated by ; or |."),
    Field("valid_at", "peilmoment", "datetime", True,
          "Wanneer de cijfers klopten: 31-12-2025 14:30 of 2025-12-31T14:30 (Nederlandse tijd).",
          "When the figures were true: 31-12-2025 14:30 or 2025-12-31T14:30 (Dutch time)."),
    Field("unit", "eenheid", "code", True, "plek, bed, behandelplek of groepsplek.",
          "place, bed, treatment_slot or group_seat."),
    Field("maximum", "maximum", "int", False, "Totaal aantal plekken.", "Total number of places."),
    Field("available", "beschikbaar", "int", False, "Nu vrije plekken.", "Places free now."),
    Field("status", "status", "code", False,
          "open, vol, wachtlijst, gesloten of onbekend; leeg = afgeleid uit beschikbaar.",
          "open, full, waitlist, closed or unknown; empty = derived from available."),
    Field("waiting_count", "wachtenden", "int", False, "Aantal mensen op de wachtlijst.",
          "Number of people on the waiting list."),
    Field("wait_days_intake", "aanmeldwachttijd_dagen", "int", False,
          "Dagen van aanmelding tot intake.", "Days from referral to intake."),
    Field("wait_days_treatment", "behandelwachttijd_dagen", "int", False,
          "Dagen van intake tot start behandeling.", "Days from intake to start of treatment."),
    Field("framework", "kader", "code", False, "vrijwillig, gedwongen of beide (daderhulp).",
          "voluntary, mandated or both (perpetrator programmes)."),
    Field("age_min", "leeftijd_min", "int", False, "Jongste leeftijd die wordt geholpen.", "Youngest age served."),
    Field("age_max", "leeftijd_max", "int", False, "Oudste leeftijd die wordt geholpen.", "Oldest age served."),
    Field("whole_family", "heel_gezin", "bool", False, "ja/nee: helpt het hele gezin samen.",
          "yes/no: helps the whole family together."),
    Field("languages", "talen", "texts", False, "Talen, bijv. nl; en; ar.", "Languages, e.g. nl; en; ar."),
    Field("violence_profiles", "geweldsprofielen", "codes", False,
          "intieme terreur; gezin onder druk; langdurige zorgbehoefte; opvoedingsstress; complexe scheiding.",
          "intimate_terror; family_in_stress; long_term_care_needs; child_behaviour_parenting_stress; "
          "complex_conflict_divorce."),
    Field("phone", "telefoon", "text", False, "Telefoonnummer voor verwijzers.", "Phone number for referrers."),
    Field("email", "email", "text", False, "E-mailadres voor verwijzers.", "E-mail address for referrers."),
    Field("website", "website", "text", False, "Website.", "Website."),
    Field("referral_route", "verwijsroute", "text", False, "Hoe verwijs je (bijv. via Veilig Thuis).",
          "How to refer (e.g. through Veilig Thuis)."),
)
LIST_KINDS = ("texts", "codes", "area")
LIST_FIELDS = tuple(f.name for f in FIELDS if f.kind in LIST_KINDS)
FIELD_BY_NAME = {f.name: f for f in FIELDS}
REQUIRED = tuple(f.name for f in FIELDS if f.required)

# Columns whose content is a street address: never stored (shelter locations are secret). Matched on the
# header's privacy key (ingest/privacy.py: lower case, accents and punctuation gone, words joined by "_"),
# as a whole or as one dotted part of a feed field ("location.address_1").
ADDRESS_HEADERS = frozenset({"adres", "address", "straat", "street", "straatnaam", "huisnummer", "house_number",
                             "postcode", "postal_code", "address_1", "address_2", "bezoekadres", "postadres",
                             "huisnr", "huisletter", "huisnummer_toevoeging", "adresregel", "address_line_1",
                             "address_line_2", "street_address", "post_code", "zip", "zip_code", "zipcode",
                             "woonadres", "vestigingsadres", "locatieadres", "straat_huisnummer"})

# Words that mark a street address wherever they stand in a header (its privacy key: lower case, "_" between
# words), and words that say the address is another kind (e-mail, web, IP): "emailadres" is no street.
ADDRESS_WORDS = ("adres", "address", "straat", "street", "huisnummer", "house_number", "postcode", "postal_code",
                 "post_code", "zipcode", "zip_code")
NOT_STREET_ADDRESS_WORDS = ("mail", "web", "url", "ip_", "internet", "site")

# Columns that hold personal data of a client: a file, feed or package with one is refused whole and never
# kept (ingest/privacy.py). Matched like ADDRESS_HEADERS. Plain "naam"/"name" are not here: they name a
# service, organisation or contact; staff contact fields (telefoon, email) are allowed. Aggregates such as
# "aantal cliënten" do not match, since only whole headers (or dotted parts) are compared.
PERSONAL_HEADERS = frozenset({
    "client", "clienten", "clients", "clientnaam", "client_naam", "naam_client", "client_name", "clientnummer",
    "client_nummer", "patient", "patienten", "patients", "patientnaam", "patient_naam", "naam_patient",
    "patient_name", "patientnummer", "patient_nummer",
    "voornaam", "voornamen", "voorletters", "achternaam", "roepnaam", "geslachtsnaam", "meisjesnaam",
    "first_name", "firstname", "given_name", "last_name", "lastname", "surname", "family_name",
    "geboortedatum", "geb_datum", "gebdatum", "geboortedag", "geboortejaar", "geboorteplaats", "geboren",
    "date_of_birth", "dob", "birth_date", "birthdate", "birthday", "place_of_birth",
    "bsn", "bsn_nummer", "bsnnummer", "burgerservicenummer", "burger_service_nummer", "sofinummer", "sofi_nummer",
    "social_security_number", "ssn", "citizen_service_number",
})
# Words that mark personal data wherever they stand in a header ("BSN moeder", "geboortedatum kind").
PERSONAL_WORDS = frozenset({"bsn", "burgerservicenummer", "sofinummer", "geboortedatum"})

# Free-text fields screened for a citizen service number (BSN) in every cell: a row holding one is refused
# and the number is masked everywhere. Ids, phone numbers, e-mail and websites are not screened: a 9-digit
# id or an RSIN (organisation number, same 11-test), "+31 612345678" or a URL's number would be refused
# for nothing (1 in 11 random 9-digit numbers passes the test).
SCREENED_FIELDS = frozenset({"service_name", "provider_name", "referral_route", "languages"})

# Dutch (and some English) words for coded values, lower case -> canonical code.
VOCABULARY: dict[str, dict[str, str]] = {
    "care_type": {
        "vrouwenopvang": "shelter", "opvang": "shelter", "blijf-van-mijn-lijfhuis": "shelter",
        "traumabehandeling": "trauma_care", "trauma-expertteam": "trauma_care", "traumazorg": "trauma_care",
        "daderhulp": "perpetrator_programme", "plegerhulp": "perpetrator_programme",
        "lotgenotengroep": "peer_group", "lotgenotencontact": "peer_group", "ervaringsdeskundigen": "peer_group",
    },
    "target_groups": {
        "volwassen slachtoffer": "adult_victim", "volwassene": "adult_victim", "slachtoffer": "adult_victim",
        "kind": "child", "kinderen": "child", "jeugd": "child",
        "pleger": "perpetrator", "plegers": "perpetrator", "dader": "perpetrator", "daders": "perpetrator",
    },
    "unit": {
        "plek": "place", "plaats": "place", "gezinsplek": "place", "bed": "bed", "bedden": "bed",
        "behandelplek": "treatment_slot", "behandelplaats": "treatment_slot",
        "groepsplek": "group_seat", "groepsplaats": "group_seat",
    },
    "status": {"vol": "full", "wachtlijst": "waitlist", "gesloten": "closed", "onbekend": "unknown"},
    "framework": {"vrijwillig": "voluntary", "vrijwillig kader": "voluntary", "gedwongen": "mandated",
                  "gedwongen kader": "mandated", "verplicht": "mandated", "beide": "both"},
    "violence_profiles": {
        "intieme terreur": "intimate_terror", "gezin onder druk": "family_in_stress",
        "gezinsstress": "family_in_stress", "langdurige zorgbehoefte": "long_term_care_needs",
        "opvoedingsstress": "child_behaviour_parenting_stress",
        "gedrags- en opvoedproblemen": "child_behaviour_parenting_stress",
        "complexe scheiding": "complex_conflict_divorce", "vechtscheiding": "complex_conflict_divorce",
    },
}
CODES: dict[str, tuple[str, ...]] = {
    "unit": ("place", "bed", "treatment_slot", "group_seat"),
    "status": ("open", "full", "waitlist", "closed", "unknown"),
    "framework": ("voluntary", "mandated", "both"),
    "violence_profiles": VIOLENCE_PROFILES,
}
TRUE_WORDS = frozenset({"ja", "j", "yes", "y", "true", "waar", "1", "x"})
FALSE_WORDS = frozenset({"nee", "n", "no", "false", "onwaar", "0", ""})
LIST_SEPARATORS = re.compile(r"\s*[;|\n]\s*")


def normalise_header(name: str) -> str:
    """'Dienst ID ' and 'dienst-id' both become 'dienst_id'."""
    return re.sub(r"[\s\-]+", "_", name.strip().lower())


HEADER_TO_FIELD: dict[str, str] = {
    **{normalise_header(f.name): f.name for f in FIELDS},
    **{normalise_header(f.header_nl): f.name for f in FIELDS},
}
