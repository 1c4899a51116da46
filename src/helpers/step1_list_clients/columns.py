"""Step 1 (list and check the clients): recognising export headers as the kit's columns.

Common English and Russian headers of CRMs, accounting systems and spreadsheets map onto the
canonical names in `company.COLUMNS` without configuration; `company.yml` maps the rest.
"""

from __future__ import annotations

import difflib
import re

from helpers.step1_list_clients.company import COLUMNS
from helpers.core.errors import Problem, problem

# canonical column -> header spellings (compared after `normalise_header`)
SYNONYMS: dict[str, list[str]] = {
    "client_id": ["client_id", "client id", "id клиента", "клиент id", "customer id", "customer_id", "account id",
                  "account_id", "id", "код клиента", "код", "record id", "инн", "company id", "customerid", "clientid", "accountid",
                  "account - id", "organization - id", "company - id", "organization id",
                  "organisation id", "ид клиента", "id контрагента", "код контрагента",
                  "customer number", "customer no", "customer code", "client number", "client no", "client code",
                  "account number", "номер клиента",
                  # a deal's company by its CRM id: HubSpot "Associated Company IDs", its API "associatedcompanyid"
                  "associated company ids", "associated company id", "associatedcompanyid", "company ids"],
    "name": ["name", "client", "client name", "customer", "customer name", "company", "company name", "account name",
             "account", "клиент", "контрагент", "наименование", "название", "компания", "название компании",
             "организация", "покупатель", "organization name", "organisation name", "organization - name",
             "organisation - name", "deal - organization", "deal - organisation", "associated company",
             "company - name", "организация - название", "компания - название", "контрагенты", "заказчик",
             "bill to", "sold to", "customer full name", "contact name", "contactname",
             "компания контакта", "компания клиента",  # amoCRM: the company of the deal's contact
             "contact company"],
    "revenue": ["revenue", "выручка", "оборот", "turnover", "sales", "продажи", "total revenue", "ltv",
                "выручка без ндс", "выручка с ндс", "net sales", "gross sales", "total sales", "sales amount",
                "сумма продаж", "объем продаж", "sales volume",
                "total",  # QuickBooks "Sales by Customer Summary": one Total per customer
                # 1C's trial balance of account 62 (settlements with buyers): the debit turnover is what was sold
                "обороты за период / дебет", "оборот дт", "обороты дт", "дебетовый оборот"],
    "margin": ["margin", "маржа", "gross margin", "profit", "прибыль", "валовая прибыль", "маржинальность руб"],
    "purchases": ["purchases", "orders", "number of orders", "заказов", "количество заказов", "покупок",
                  "количество покупок"],
    "client_since": ["client_since", "client since", "клиент с", "first purchase", "первая покупка",
                     "customer since", "дата первой покупки", "с какого года клиент"],
    "tenure_months": ["tenure_months", "tenure", "months as client", "стаж месяцев", "срок сотрудничества мес"],
    "payment_delay_days": ["payment_delay_days", "payment delay", "payment delay days", "days late",
                           "просрочка", "просрочка оплаты", "просрочка оплаты дн", "дней просрочки",
                           "average payment delay", "дебиторская просрочка дн"],
    "support_hours": ["support_hours", "support hours", "часы поддержки", "часов поддержки", "service hours",
                      "трудозатраты ч", "часы на обслуживание"],
    "deal_cycle_days": ["deal_cycle_days", "deal cycle", "deal cycle days", "sales cycle", "цикл сделки",
                        "цикл сделки дн", "длительность сделки дн"],
    "tier": ["tier", "категория", "category", "abc", "abc category", "сегмент abc", "класс", "группа", "уровень",
             "team tier", "team_tier"],
    "note": ["note", "comment", "комментарий", "примечание"],
    "date": ["date", "дата", "order date", "invoicedate", "created at", "orderdate", "transaction date", "дата заказа", "дата документа", "дата продажи", "дата оплаты",
             "payment date", "invoice date", "close date", "дата закрытия сделки", "период",
             "txn date", "posting date", "doc date", "document date", "date created", "дата реализации",
             "дата отгрузки", "дата/время", "дата и время",
             "purchase date", "date of purchase", "sale date", "date of sale", "sales date",
             "order created", "дата покупки", "дата платежа", "дата счета",
             # payment and form exports: Stripe "Created (UTC)", Google Forms/Sheets "Timestamp"
             "created (utc)", "created date (utc)", "date (utc)", "timestamp", "отметка времени", "created"],
    "amount": ["amount", "сумма", "sum", "total", "value", "сумма с ндс", "сумма (с ндс)", "бюджет", "deal - value",
               "opportunity amount", "opportunity", "стоимость", "выручка", "revenue", "сумма руб", "итого по строке",
               "lineitem price", "line amount", "net amount", "amount paid", "сумма сделки",
               "amount in company currency", "amount in home currency",
               # more headers of accounting, shop and pivot-table exports
               "сумма без ндс", "выручка без ндс", "выручка с ндс", "сумма документа", "сумма продажи",
               "итоговая сумма", "выручка, руб. без ндс", "net sales", "gross sales", "total sales", "sales",
               "продажи", "sales amount", "invoice amount", "invoice total", "order total", "total price",
               "paid amount", "payment amount", "sum of amount", "сумма по полю сумма", "order total amount",
               "total amount", "amount total", "grand total", "sale amount", "transaction amount",
               "purchase amount", "order amount", "total value", "сумма платежа", "сумма оплаты",
               "budget"],  # amoCRM in English (Kommo): the deal's value
    "currency": ["currency", "валюта", "deal - currency of value", "currency code"],
    "document": ["document", "документ", "invoice", "номер документа", "счёт", "счет", "order id", "order number",
                 "invoice number", "invoice no", "num", "номер", "номер заказа"],
    "deal_id": ["deal_id", "deal id", "id", "id сделки", "сделка id", "opportunity id", "record id", "deal - id",
                "dealid", "opportunityid", "номер сделки", "hs object id"],
    "title": ["title", "deal name", "название сделки", "deal - title", "opportunity name", "сделка", "dealname",
              "lead title", "lead name"],
    "outcome": ["outcome", "result", "stage", "deal stage", "этап сделки", "стадия сделки", "этап", "стадия",
                "результат", "итог сделки", "статус", "status", "stage_id", "deal - status", "deal - stage",
                "статус сделки", "stagename", "dealstage", "deal - pipeline stage"],
    "reason": ["reason", "причина", "причина отказа", "loss reason", "lost reason", "комментарий к итогу",
               "why", "почему", "deal - lost reason", "lost reason", "closed lost reason", "причина провала",
               "причина проигрыша", "lossreason", "reason for loss"],
    "created": ["created", "дата создания", "create date", "created date", "created at", "opened", "createddate",
                "createdate", "deal - deal created", "deal - created", "deal created", "добавлена", "дата добавления",
                "дата начала", "date created", "created time", "created on", "date create",
                "сделка создана", "время создания"],  # Pipedrive in Russian: «Сделка - Сделка создана»
    "closed": ["closed", "дата закрытия", "close date", "closed date", "closed at", "closedate", "closeddate",
               "deal - deal closed on", "deal - close date", "deal closed on", "дата завершения", "дата окончания", "предполагаемая дата закрытия",
               "date closed", "closing date", "closed time", "сделка закрыта", "время закрытия"],
    "cycle_days": ["cycle_days", "cycle days", "cycle", "длительность дн", "дней в работе", "days to close",
                   "дней до закрытия"],
    "prospect_id": ["prospect_id", "prospect id", "lead id", "id лида", "лид id", "id", "код лида", "record id",
                    "company id", "lead - id", "лид - id"],
    # the three "P" of a prospective key client (helpers.step1_list_clients.key_clients.check_three_p)
    "need": ["need", "потребность", "есть потребность"],
    "solvency": ["solvency", "платежеспособность", "платежеспособен", "budget", "бюджет есть"],
    "authority": ["authority", "полномочия", "полномочия решать", "decision authority", "лпр на связи"],
}
# German exports (DATEV, lexoffice, sevDesk, SAP with a German interface): the same columns in German.
for _canonical, _german in {
    "client_id": ["kundennummer", "kunden-nr", "kunden-nr.", "kundennr", "kd-nr", "kd.-nr.", "debitor",
                  "debitorennummer", "debitorenkonto", "kunden-id"],
    "name": ["kunde", "kundenname", "firma", "firmenname", "unternehmen", "auftraggeber", "rechnungsempfänger"],
    "date": ["datum", "rechnungsdatum", "belegdatum", "buchungsdatum", "bestelldatum", "leistungsdatum"],
    "amount": ["betrag", "rechnungsbetrag", "bruttobetrag", "nettobetrag", "umsatz", "gesamtbetrag", "summe",
               "betrag (brutto)", "betrag (netto)"],
    "document": ["rechnungsnummer", "belegnummer", "beleg-nr", "rechnungs-nr", "bestellnummer"],
    "revenue": ["umsatz", "umsatz gesamt", "jahresumsatz", "gesamtumsatz"],
}.items():
    SYNONYMS[_canonical] = SYNONYMS[_canonical] + [g for g in _german if g not in SYNONYMS[_canonical]]
# Dates that close a deal only for one outcome (Pipedrive "Won time" / "Lost time"): they fill `closed`
# where the file has no general close date.
CLOSED_BY_OUTCOME = ["won time", "lost time", "deal - won time", "deal - lost time", "дата успеха", "дата провала",
                     "date won", "date lost",
                     # Pipedrive in Russian
                     "время выигрыша", "время проигрыша", "дата выигрыша", "дата проигрыша",
                     "сделка - время выигрыша", "сделка - время проигрыша", "сделка - дата выигрыша",
                     "сделка - дата проигрыша"]
# Which canonical columns each file kind may use, in priority order.
_KIND_COLUMNS = {kind: spec["required"] + spec["optional"] for kind, spec in COLUMNS.items()}


def normalise_header(text: str) -> str:
    """Lower-case, ё→е, units and punctuation dropped, spaces collapsed.

    >>> normalise_header("  Выручка, руб. ")
    'выручка'
    >>> normalise_header("Сумма (с НДС), ₽")
    'сумма (с ндс)'
    >>> normalise_header("Выручка, тыс. руб."), normalise_header("Amount ($000)"), normalise_header("Amount CHF")
    ('выручка', 'amount', 'amount')
    """
    s = str(text).replace("\ufeff", "").strip().lower().replace("ё", "е")
    s = s.lstrip("*").strip()  # "*ContactName", "*InvoiceDate": Xero marks required fields with a star
    unit = _unit(s)
    if unit:
        s = s[:unit.start()]
    s = re.sub(r",?\s*(₽|руб\.?|rub|usd|\$|€|eur|р\.)\s*$", "", s)
    s = re.sub(r"\((₽|руб\.?|rub|usd|\$|€|eur)\)", "", s)
    s = re.sub(r"[,;:_\s]+", " ", s)
    s = s.strip(" ,.:;")
    return s


# A unit after a header's name: the currency ("Amount CHF", "Amount (GBP)", ", ₽") and a scale ("Выручка,
# тыс. руб.", "Amount ($000)", "Revenue (in thousands)", "Сумма, млн ₽", "Revenue, $m"): a person reading
# "1 234,5" under "тыс. руб." reads 1 234 500 roubles, so the scale multiplies the column (`header_scale`).
_CURRENCY_WORD = (r"(?:₽|руб\.?|рубл[а-я]*|rub\.?|rur|usd|eur|gbp|chf|cad|aud|kzt|byn|uah|cny|jpy|\$|€|£|¥|"
                  r"р\.|долл\.?|евро)")
_SCALE_WORDS = {1e3: ("тыс", "тысяч", "тысячах", "тыс.", "thousand", "thousands", "000", "'000", "’000", "000s",
                      "k"),
                1e6: ("млн", "млн.", "миллионах", "million", "millions", "mn", "mln", "mio", "m"),
                1e9: ("млрд", "млрд.", "миллиардах", "billion", "billions", "bn")}
_SCALE_FACTOR = {w: f for f, words in _SCALE_WORDS.items() for w in words}
_UNIT = re.compile(
    rf"(?:,|\s|(?=\())\s*\(?\s*(?:(?:in|в)\s+)?(?P<cur1>{_CURRENCY_WORD}\s*)?"
    r"(?P<scale>тыс\.?|тысяч(?:ах)?|миллионах|миллиардах|thousands?|['’]?000s?|k|млн\.?|millions?|mn|mln|mio|m"
    rf"|млрд\.?|billions?|bn)?\s*(?P<cur2>{_CURRENCY_WORD})?\s*\)?\s*$")


def _unit(lowered: str) -> re.Match | None:
    """The unit at the end of a lower-cased header, when there is one (a currency, a scale or both).

    "m" alone is a million only beside a currency ("$m"); a unit is never the whole header."""
    found = _UNIT.search(lowered)
    if not found or found.start() == 0 or not (found.group("scale") or found.group("cur1") or found.group("cur2")):
        return None
    if found.group("scale") == "m" and not (found.group("cur1") or found.group("cur2")):
        return None
    return found


def header_scale(header: str) -> float:
    """How many units one written number stands for, by the header's unit: 1000 for "Выручка, тыс. руб."
    and "Amount ($000)", 1e6 for "Сумма, млн ₽" and "Revenue, $m", else 1.

    >>> header_scale("Выручка, тыс. руб."), header_scale("Revenue (in thousands)"), header_scale("Amount")
    (1000.0, 1000.0, 1.0)
    """
    found = _unit(str(header).strip().lower().replace("ё", "е"))
    if not found or not found.group("scale"):
        return 1.0
    return float(_SCALE_FACTOR.get(found.group("scale").lstrip("'’"), _SCALE_FACTOR.get(found.group("scale"), 1.0)))


def _client_from_other_column(headers: list[str], mapping: dict[str, str], taken: set[str],
                              problems: list[Problem], file: str, values=None) -> None:
    """A file with no client id column: the clients are named by another column, in this order — a
    column of client names ("Customer", "Контрагент"), the buyer's e-mail (shop exports), and last a
    column headed just "Name" (in a Shopify export that is the order's number, not a client).

    `values(header)`, when given, is the column's cells: the first column filled on every row wins,
    else the fullest (WooCommerce's "Company (Billing)" is blank for
    the shop's private buyers, its "Email (Billing)" never is)."""
    specific, emails, names = _client_candidates(headers, mapping)
    order = list(dict.fromkeys([(h, "name_as_client_id") for h in specific] + [(h, "email_as_client_id") for h in emails]
                               + [(h, "name_as_client_id") for h in names]))
    if not order:
        return
    chosen = order[0]
    if values is not None and len(order) > 1:
        share = {h: _filled(values(h)) for h, _ in order}
        chosen = next(((h, c) for h, c in order if share[h] >= 1.0), max(order, key=lambda hc: share[hc[0]]))
    header, code = chosen
    mapping[header] = "client_id"
    taken.add("client_id")
    problems.append(problem(code, "info", file=file, column=str(header), header=str(header)))


def _client_candidates(headers: list[str], mapping: dict[str, str]) -> tuple[list[str], list[str], list[str]]:
    """The unmapped headers that may name a log's clients: (names that say whose — "Customer",
    «Контрагент» —, the buyer's e-mail — "Email (Billing)" —, every name column, a bare "Name" too)."""
    free = [h for h in headers if h not in mapping]
    names = [h for h in free if _lookup("clients", normalise_header(h)) == "name"]
    emails = [h for h in free if _QUALIFIER.sub("", normalise_header(h)) in _EMAIL_HEADERS]
    specific = [h for h in names if normalise_header(h) not in _GENERIC_NAMES]
    return specific, emails, names


def _filled(cells) -> float:
    """The share of a column's cells that hold a value (1.0 for a column of no rows)."""
    from helpers.step1_list_clients.parsing import blank_cells

    return 1 - float(blank_cells(cells).mean()) if len(cells) else 1.0


def _numbers_rows(ids, names) -> bool:
    """Whether an id column numbers the rows rather than the clients: a different id on every row
    while the column naming the client repeats (Stripe's API export: "id" of each charge, "customer")."""
    ids, names = ids.dropna(), names.dropna()
    return len(ids) > 1 and ids.nunique() == len(ids) and names.nunique() < ids.nunique()


def _record_id(header: str, headers: list[str], mapping: dict[str, str], taken: set[str],
               problems: list[Problem], file: str, values=None) -> None:
    """A log's bare "Id" with no client id column beside it. In a shop or payment export (Shopify's
    orders, Stripe's charges) it numbers the order, and the buyer's e-mail names the client: the e-mail
    column then identifies the clients, with a note naming both. So does a column naming the client
    ("Customer") when the "Id" differs on every row and the client's column repeats (`values(header)`
    gives a column's cells). Otherwise the "Id" is the client's, as in a log a person keeps by hand
    ("id, customer, date, amount")."""
    names, emails, _ = _client_candidates([h for h in headers if h != header], mapping)
    client = emails[0] if emails else None
    if client is None and names and values is not None and _numbers_rows(values(header), values(names[0])):
        client = names[0]
    if client is None:
        mapping[header] = "client_id"
        taken.add("client_id")
        return
    mapping[client] = "client_id"
    taken.add("client_id")
    problems.append(problem("record_id_not_client", "info", file=file, column=str(client), id=str(header),
                            header=str(client)))


def _client_name_beside_id(headers: list[str], mapping: dict[str, str], taken: set[str]) -> None:
    """A log with a client id column that also names the client ("Customer ID" beside "Customer",
    «Код контрагента» beside «Контрагент»): that column becomes `name`, which links the log to the
    client list when its ids are another system's (`load._cross_check`). Only a header that names a
    client counts, never a bare "Name" (in a shop export, the order's number)."""
    for header in headers:
        key = normalise_header(header)
        if header not in mapping and _lookup("clients", key) == "name" and key not in _GENERIC_NAMES:
            mapping[header] = "name"
            taken.add("name")
            return


_ID_WORDS = {"id", "no", "nr", "num", "number", "#", "№", "код", "номер", "инн", "ид", "key", "ключ"}


def _id_like(headers: list[str], mapping: dict[str, str]) -> bool:
    """Whether a header left unmapped may be a client id under another name ("client_no", "Код", "Cust #"):
    then the names must not silently become the ids, and the missing-column error names it."""
    for header in headers:
        if header in mapping:
            continue
        key = normalise_header(header)
        words = set(re.split(r"[\s\-./]+", key))
        if words & _ID_WORDS or difflib.get_close_matches("client_id", [key], n=1, cutoff=0.5):
            return True
    return False


_CODE = r"[A-Za-z0-9А-Яа-яЁё][A-Za-z0-9А-Яа-яЁё\-_./#]{0,23}"


def _codes_beside_names(headers: list[str], mapping: dict[str, str], taken: set[str], values) -> None:
    """"Account" beside "Account name" (Sage, Xero, QuickBooks lists): when the column taken for the
    names has a fuller-named neighbour ("<it> name", «наименование <it>») and holds codes (one word with
    a digit in nine cells of ten: "UK01", "ABB001"), it is the client id and the neighbour the name."""
    named = next(h for h, c in mapping.items() if c == "name")
    key = normalise_header(named)
    fuller = [h for h in headers if h not in mapping
              and normalise_header(h) in (f"{key} name", f"{key} title", f"наименование {key}", f"название {key}")]
    if not fuller:
        return
    cells = values(named).dropna().astype(str).str.strip()
    cells = cells[cells != ""]
    if not len(cells):
        return
    codes = cells.str.fullmatch(_CODE) & cells.str.contains(r"\d")
    if codes.mean() >= 0.9:
        mapping[named] = "client_id"
        mapping[fuller[0]] = "name"
        taken.add("client_id")


def _latest_period(headers: list[str], kind: str, mapping: dict[str, str], overrides: dict[str, str],
                   problems: list[Problem], file: str) -> None:
    """Several columns of one figure for different periods ("Revenue 2023", "Revenue 2024"): the latest
    year is the column used, and a warning names the others (the kit never adds periods up unasked);
    the others are in the warning's `unused`, and never become traits (revenue would predict revenue).
    Columns mapped in company.yml are left as mapped."""
    def year(header: str) -> int | None:
        key = normalise_header(header)
        found = re.findall(r"(?:19|20)\d{2}", key)
        return int(found[-1]) if found and _PERIOD.search(key) else None

    for header, target in list(mapping.items()):
        if year(header) is None or normalise_header(header) in overrides:
            continue
        same = [h for h in headers if year(h) is not None and _lookup(kind, normalise_header(h)) == target]
        if len(same) < 2:
            continue
        latest = max(same, key=lambda h: (year(h), same.index(h)))
        del mapping[header]
        mapping[latest] = target
        others = [str(h) for h in same if h != latest]
        problems.append(problem("period_column_chosen", "warning", file=file, column=str(latest), header=str(latest),
                                others="«" + "», «".join(others) + "»", target=target, unused=others))


def _deal_title_beside_company(headers: list[str], mapping: dict[str, str], taken: set[str],
                               overrides: dict[str, str]) -> None:
    """In a deal export a bare "Название"/"Name" is the deal's own title when another column names the
    client's company (Bitrix24: "Название", "Компания"; Salesforce: "Name", "Account Name"): that column
    is the client, and the bare one is the title (never a client name the deals would be linked by).
    Headers mapped in company.yml are left as mapped."""
    generic = [h for h, c in mapping.items() if c == "name" and normalise_header(h) in _GENERIC_NAMES
               and normalise_header(h) not in overrides]
    company = [h for h in headers if h not in mapping and _lookup("deals", normalise_header(h)) == "name"
               and normalise_header(h) not in _GENERIC_NAMES]
    if not generic or not company:
        return
    del mapping[generic[0]]
    mapping[company[0]] = "name"
    if "title" not in taken:
        mapping[generic[0]] = "title"
        taken.add("title")


_LOOKUP = {kind: {} for kind in _KIND_COLUMNS}
for _kind, _allowed in _KIND_COLUMNS.items():
    for _canonical in _allowed:
        for _spelling in SYNONYMS.get(_canonical, [_canonical]):
            _LOOKUP[_kind].setdefault(normalise_header(_spelling), _canonical)
# the same spellings with spaces removed: CustomerID, InvoiceDate, CLOSEDATE, ACCOUNTID
_COMPACT = {kind: {} for kind in _KIND_COLUMNS}
for _kind, _table in _LOOKUP.items():
    for _key, _canonical in _table.items():
        _COMPACT[_kind].setdefault(_key.replace(" ", ""), _canonical)


# The buyer's e-mail: a client id only where a file has no id column (see `map_columns`).
_EMAIL_HEADERS = {"email", "e-mail", "e mail", "customer email", "client email", "email address", "buyer email",
                  "почта", "электронная почта", "email клиента", "e-mail клиента", "почта клиента"}
# Gross figures, before discounts and returns: the net figure beside them is what the client paid.
_GROSS = {"gross sales", "gross amount", "gross revenue"}
# Figures already converted to the company's currency: they win over the same figure in each deal's own.
_FIRST = {"amount in company currency", "amount in home currency"}
# A log's id column that names no record: in an order or payment export it is the order's own number.
_RECORD_IDS = {"id"}
# Headers that say "name" without saying whose: in a log of orders or lines they may name the order.
_GENERIC_NAMES = {"name", "название", "наименование", "имя"}
# The lower row of a two-row header that says only "how much" ("Выручка / Сумма", "Sales / Amount"): the
# row above names the figure. "Выручка / Количество" is a count, never the revenue.
_MEASURE_WORDS = {"сумма", "сумма с ндс", "сумма (с ндс)", "amount", "sum", "total", "value", "итого", "всего",
                  "руб", "rub", "usd", "eur"}
# 1C's names for what a report groups under its clients (its subconto and grouping fields), and their
# English counterparts: the lower row of a header in the clients' own column («Контрагент / Номенклатура»)
LEVEL_WORDS = re.compile(r"(?i)^\s*(?:договор|номенклатур|документ|заказ|склад|подразделени|стать[яи]|проект"
                         r"|характеристик|сери[яи]|регистратор|менеджер|items?\b|products?\b|contracts?\b"
                         r"|projects?\b|jobs?\b)")
# Export prefixes that name the record, not the field: "Deal - Value" is the deal's value.
_PREFIX = re.compile(r"^(deal|сделка|opportunity|order|заказ)\s*-\s*")
# Under such a prefix, "Name" is the record's own name ("Сделка - Название" is the deal's title), never
# the client's; "Сделка - Организация", "Deal - Company" still name the client.
_RECORD_NAME = {"name", "название", "наименование", "title", "имя"}
# The period a header's figure covers, after its name: "Revenue 2024", "Sales FY2023", "Revenue YTD",
# «Выручка за год», «Выручка за 2024 год», «Выручка 2023 г.».
_PERIOD = re.compile(r"\s*[(,]?\s*(?:за\s+|in\s+|for\s+)?(?:(?:fy|фг)\s*)?(?:(?:19|20)\d{2}(?:\s*[-/–]\s*(?:19|20)?\d{2})?"
                     r"(?:\s*(?:г|гг|год[а-я]*))?|год|year|ytd|fy|last year|прошлый год)\s*\)?$")
# A qualifier HubSpot and others put after a header: "Associated Company (Primary)", "Amount (USD)".
_QUALIFIER = re.compile(r"\s*\([^()]*\)$")


def _lookup(kind: str, key: str) -> str | None:
    """The canonical column for a normalised header, also without spaces ("CustomerID"), a record
    prefix ("Deal - Value") or a trailing qualifier in brackets ("Associated Company (Primary)")."""
    table = _LOOKUP[kind]
    found = table.get(key) or _COMPACT[kind].get(key.replace(" ", ""))
    if found is None and _PREFIX.match(key):
        rest = _PREFIX.sub("", key)
        if rest in _RECORD_NAME:
            return "title" if "title" in _KIND_COLUMNS[kind] else None
        found = table.get(rest) or _COMPACT[kind].get(rest.replace(" ", ""))
    if found is None and _QUALIFIER.search(key):
        found = _lookup(kind, _QUALIFIER.sub("", key))
    if found is None and _PERIOD.search(key) and _PERIOD.sub("", key):
        found = _lookup(kind, _PERIOD.sub("", key))  # "Revenue 2024", «Выручка за год»: the figure of a period
    return found


def headers_for(headers: list[str], kind: str, canonical: str) -> list[str]:
    """Every header of a `kind` file that could be the `canonical` column, in file order (a Pipedrive
    export has both "Deal - Stage" and "Deal - Status" for the outcome); `map_columns` takes the first.

    >>> headers_for(["Deal - Title", "Deal - Stage", "Deal - Status"], "deals", "outcome")
    ['Deal - Stage', 'Deal - Status']
    """
    return [h for h in headers if _lookup(kind, normalise_header(h)) == canonical]


def known_header(header: str) -> bool:
    """Whether `header` names a column of any input file (a spelling in SYNONYMS, as `map_columns` reads it).

    >>> known_header("Client"), known_header("Контрагент"), known_header("Sales report 2024")
    (True, True, False)
    """
    return any(_lookup(kind, normalise_header(header)) for kind in _LOOKUP)


def map_columns(headers: list[str], kind: str, overrides: dict[str, str] | None = None, *,
                file: str, values=None) -> tuple[dict[str, str], list[Problem]]:
    """Map a file's headers to canonical names; returns ({header: canonical}, problems).

    Headers not recognised are left out of the mapping (they become traits in the client list).
    A missing required column is an error that lists the columns present and the closest matches.
    `values(header)` (the column's cells, when the caller has them) lets a log with no client id column
    choose the column that names a client on every row (`_client_from_other_column`) and tell an
    order's "Id" from a client's (`_record_id`).

    >>> mapping, problems = map_columns(["ID клиента", "Контрагент", "Отрасль"], "clients", file="c.csv")
    >>> mapping, problems
    ({'ID клиента': 'client_id', 'Контрагент': 'name'}, [])
    """
    overrides = {normalise_header(k): v for k, v in (overrides or {}).items()}
    mapping: dict[str, str] = {}
    taken: set[str] = set()
    problems: list[Problem] = []
    allowed = _KIND_COLUMNS[kind]
    # explicit mappings first, then exact canonical names, then synonyms
    for header in headers:
        key = normalise_header(header)
        if key in overrides:
            target = overrides[key]
            mapping[header] = target
            taken.add(target)
    for header in headers:
        if header in mapping:
            continue
        key = normalise_header(header)
        if key in allowed and key not in taken:
            mapping[header] = key
            taken.add(key)
    deferred: list[str] = []  # a log's bare "Id": yields to a column that says whose it is (`_record_id`)
    # a gross figure yields to the net one beside it (Square: "Gross Sales", "Discounts", "Net Sales")
    for header in sorted(headers, key=lambda h: normalise_header(h) in _GROSS):
        if header in mapping:
            continue
        if kind == "transactions" and normalise_header(header) in _RECORD_IDS:
            deferred.append(header)
            continue
        target = _lookup(kind, normalise_header(header))
        if target is None and " / " in str(header):  # a merged two-row header: "Клиент / ID"
            upper, lower = (normalise_header(part) for part in str(header).rsplit(" / ", 1))
            target = _LOOKUP[kind].get(lower)
            if target is None and lower in _MEASURE_WORDS:  # "Выручка / Сумма": the upper row names it
                target = _lookup(kind, upper)
            if target is None and LEVEL_WORDS.match(lower) and _lookup(kind, upper) in ("client_id", "name"):
                # «Контрагент / Номенклатура»: a 1C report's column of clients with their items below them
                target = _lookup(kind, upper)
        if target and target not in taken:
            mapping[header] = target
            taken.add(target)
    _latest_period(headers, kind, mapping, overrides, problems, file)
    # the amount already in the company's currency (HubSpot's "Amount in company currency") wins over
    # "Amount" in each deal's own currency, unless company.yml maps "Amount" itself
    converted = next((h for h in headers if normalise_header(h) in _FIRST and h not in mapping), None)
    plain = next((h for h, c in mapping.items() if c == "amount"), None)
    if converted is not None and plain is not None and normalise_header(plain) not in overrides:
        del mapping[plain]
        mapping[converted] = "amount"
    if kind == "deals":
        _deal_title_beside_company(headers, mapping, taken, overrides)
    if deferred and "client_id" not in taken:
        _record_id(deferred[0], headers, mapping, taken, problems, file, values)
    if kind in ("transactions", "placement") and "client_id" not in taken:
        _client_from_other_column(headers, mapping, taken, problems, file, values)
    elif kind == "transactions" and "name" not in taken:
        _client_name_beside_id(headers, mapping, taken)
    if kind == "clients" and "client_id" not in taken and "name" not in taken and headers \
            and str(headers[0]).startswith("column_") and headers[0] not in mapping:
        mapping[headers[0]] = "name"  # the first column with no header holds the names (QuickBooks summaries)
        taken.add("name")
    if kind in ("clients", "transactions") and "client_id" not in taken and "name" in taken and values is not None:
        _codes_beside_names(headers, mapping, taken, values)
    if kind == "clients" and "client_id" not in taken and "name" in taken and not _id_like(headers, mapping):
        # a client list exported without ids (1C, a spreadsheet of names): the names identify the clients
        header = next(h for h, c in mapping.items() if c == "name")
        mapping[header] = "client_id"
        taken.add("client_id")
        problems.append(problem("name_as_client_id", "info", file=file, column=header, header=header))
    for required in COLUMNS[kind]["required"]:
        if required not in taken:
            spellings = [normalise_header(s) for s in SYNONYMS.get(required, [required])]
            close = difflib.get_close_matches(required, [normalise_header(h) for h in headers], n=3, cutoff=0.5)
            close += [h for h in headers if difflib.get_close_matches(normalise_header(h), spellings, n=1, cutoff=0.7)]
            problems.append(problem(
                "missing_column", file=file, wanted=required, kind=kind,
                present=", ".join(map(str, headers)) or "—",
                closest=", ".join(dict.fromkeys(close)) or "—"))
    return mapping, problems
