"""Country -> region plan: which plan of docs/protocol.md §3 a hotspot in each country uses.

Data only. Source: LoRa Alliance "RP002-1.0.4 Regional Parameters" country allocation tables;
where RP002 allows several plans, the one Helium deployed in that country. Countries whose plan
pocnet does not support (Russia's RU864, for one) are absent: a hotspot there is in no region.
Keys are ISO 3166-1 alpha-2 codes.
"""

from __future__ import annotations

_EU868 = (
    "AD AE AL AM AO AT AX AZ BA BE BF BG BH BI BJ BW BY CD CF CG CH CI CM CV CY CZ DE DJ DK DZ "
    "EE EG EH ER ES ET FI FO FR GA GB GE GG GH GI GL GM GN GQ GR GW HR HU IE IM IQ IR IS IT JE "
    "JO KE KM KW LB LI LR LS LT LU LV LY MA MC MD ME MG MK ML MR MT MU MW MZ NA NE NG NL NO OM "
    "PL PM PS PT QA RE RO RS RW SA SC SD SE SH SI SK SL SM SN SO SS ST SY SZ TD TF TG TN TR TZ "
    "UA UG VA XK YE YT ZA ZM ZW TJ TM UZ KG KZ AF"
)
_US915 = (
    "US CA MX PR VI GU AS MP UM BM BS KY JM TC VG AG AI BB DM GD KN LC MS VC DO HT BZ GT HN SV "
    "NI PA CU AW CW SX BQ BL MF TT"
)
_AU915 = "AU NZ BR AR CL UY PY PE EC BO CO CR VE GY SR FK GS NF CK NU TK TV KI MH FM PW NR PN"
_AS923_1 = "JP SG TW TH MY HK MO KH BN MM LA MN FJ PG NC PF WF WS TO VU SB BT LK BD PK NP MV TL"
_AS923_2 = "VN ID"
_AS923_3 = "PH"
_AS923_4 = "IL"


def _table() -> dict[str, str]:
    table: dict[str, str] = {}
    for plan, codes in (
        ("EU868", _EU868),
        ("US915", _US915),
        ("AU915", _AU915),
        ("AS923-1", _AS923_1),
        ("AS923-2", _AS923_2),
        ("AS923-3", _AS923_3),
        ("AS923-4", _AS923_4),
        ("KR920", "KR"),
        ("IN865", "IN"),
        ("CN470", "CN"),
    ):
        for code in codes.split():
            if code in table:
                raise ValueError(f"country {code} listed under {table[code]} and {plan}")
            table[code] = plan
    return table


COUNTRY_PLAN: dict[str, str] = _table()
