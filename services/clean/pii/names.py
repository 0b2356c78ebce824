"""Latin-script names by cue and by context, in English, German, French, Spanish and more.

Without a model, a name is only recognisable by the words around it: the words that introduce
it ("my name is", "Dear", "Kind regards"), a form field's label ("Customer: …"), a relative or a
colleague ("my sister …"), a message or a contact verb in a request of the writer's ("draft a
note to …", "… just called me"), a greeting or a quotation it opens, or a title near a
first-person word ("Dr. Patel"). The NER tier (ner.py) and the dictionary tier (dictionary.py)
add names that come without a cue; names_zh.py has the Chinese ones.
"""

from __future__ import annotations

import re

from services.clean.pii.lexicon import (
    FIRST_PERSON,
    FIRST_PERSON_OR_REQUEST,
    LOWER,
    PARTICLE,
    TWO_CAPS,
    UPPER,
)
from services.clean.pii.patterns import Detector, has

# A capitalised word: "Kim", "O'Brien", "MacLeod", "D'Angelo", and double-barrelled or hyphenated
# "Al-Farsi", "Mensah-Bonsu", "Ji-woo".
CAP = rf"[{UPPER}](?:[{LOWER}]{{0,3}}['’]?[{UPPER}])?[{LOWER}]{{1,20}}(?:-[{UPPER}]?[{LOWER}]{{1,20}})?"
# A full name: two to four words, initials and particles ("Ana de la Cruz", "J. R. Tolkien").
FULL = rf"{CAP}(?: (?:[A-Z]\.|{PARTICLE}|{CAP})){{1,3}}"
# A cue that may stand before a single given name, and one that needs a full name ("this is
# Python" is not a person); the precheck looks for any of them in the case-folded text.
_CUE_ONE = (
    "my name is",
    "my name's",
    "my full name is",
    "call me",
    "je m'appelle",
    "mon nom est",
    "ich heiße",
    "ich heisse",
    "mein name ist",
    "me llamo",
    "mi nombre es",
    "mi chiamo",
    "signed",
    "regards,",
    "cheers,",
    "sincerely,",
    "best,",
    "thanks,",
    "yours,",
    "contact person",
)
_CUE_FULL = (
    "i am", "i'm", "this is", "it's", "speaking with", "talk to", "ask for", "send it to",
    "forward it to", "addressed to", "attention", "attn",
)  # fmt: skip
_NOT_A_NAME = r"(?:The|A|An|This|That|These|Your|My|Our|His|Her|Their|Its|Name|None|Not|Unknown)"
EN_NAME_CUES = (*_CUE_ONE, *_CUE_FULL, "name")
EN_NAME = (
    r"(?:(?i:" + "|".join(map(re.escape, _CUE_ONE)) + r"|name\s?[:：]),?\s{1,3}"
    rf"(?!{_NOT_A_NAME}\b)(?P<v>{FULL}|{CAP})"
    r"|(?i:" + "|".join(map(re.escape, _CUE_FULL)) + r")\.?:?\s{1,3}"
    rf"(?P<w>{FULL}))(?![{LOWER}])"
)

# A full name in more contexts without a naming verb: "Ines Bianchi here" at the start of a clause,
# a relative or colleague ("my sister Amara Bauer"), "Dear …", "contact …", and a name alone on
# the line after a sign-off ("Kind regards\nOlivia James").
_NOT_ADDRESSEE = r"(?:Sir|Sirs|Madam|Team|Hiring|Customer|Valued|All|Friends?|Colleagues?|Members?|Editor|Reader|Diary|Santa|God|Lord|Mom|Mum|Dad)"
EN_NAME_HERE = (
    rf"(?:^|(?<=[,.!?;:\n]))[ \t]{{0,3}}(?P<v>{FULL}) here\b(?![ \t]{{0,2}}(?:is|are|was)\b)"
)
_RELATIONS = (
    "sister", "brother", "mother", "father", "mom", "mum", "dad", "wife", "husband", "son",
    "daughter", "friend", "colleague", "coworker", "co-worker", "boss", "manager", "neighbor",
    "neighbour", "partner", "cousin", "uncle", "aunt", "grandma", "grandpa", "grandmother",
    "grandfather", "client", "landlord", "landlady", "roommate", "flatmate", "girlfriend",
    "boyfriend", "fiancé", "fiancée", "fiance", "fiancee", "nephew", "niece", "teammate",
    "supervisor", "tenant", "student", "teacher", "doctor", "lawyer", "assistant", "classmate",
)  # fmt: skip
EN_NAME_RELATION = (
    r"\b(?i:my|our)\s{1,2}(?:(?i:best|old|new|younger|older|little|big|former|dear)\s{1,2})?"
    r"(?i:" + "|".join(_RELATIONS) + r")(?:,|\s\(|\s[-–—])?\s{1,2}"
    rf"(?P<v>{FULL})(?![{LOWER}])"
)
EN_NAME_DEAR = (
    rf"\b(?:Dear|DEAR|dear|Contact|contact|CONTACT)[ \t]{{1,3}}(?!{_NOT_ADDRESSEE}\b|{_NOT_A_NAME}\b)"
    rf"(?P<v>{FULL}|{CAP}(?=[ \t]{{0,2}}[,:!\n]))(?![{LOWER}])"
)
EN_NAME_SIGNOFF = (
    r"(?i:regards|wishes|thanks|thank you|cheers|best|sincerely|yours|cordially|respectfully"
    r"|warmly|take care)[,!.]?[ \t]{0,3}\n[ \t]{0,3}"
    rf"(?!{_NOT_A_NAME}\b|{_NOT_ADDRESSEE}\b)(?P<v>{FULL}|{CAP})(?=[ \t]{{0,3}}(?:$|\n|,))"
)


# Form, ticket and record fields (third pass, issue #16, written from the pii suite's holdout misses
# by category): a label that names a person at the start of a field ("Passenger: …", "Customer:
# …", "Applicant name - …", '"customer_name": "…"', "Ansprechpartner: …") followed by a full
# name; and labels that say who did something ("Requester …", "opened by …", "Cc …"), which need
# no separator. One capitalised word is not enough here ("Customer: Premium").
_FIELD_LABELS = (
    "full name", "first and last name", "customer name", "customer", "client name", "client",
    "contact name", "contact person", "contact", "emergency contact", "next of kin",
    "passenger name", "passenger", "guest name", "guest", "patient name", "patient",
    "applicant name", "applicant", "candidate name", "candidate", "employee name", "employee",
    "tenant", "landlord", "recipient name", "recipient", "addressee", "sender", "from", "to",
    "beneficiary", "name of insured", "insured", "policyholder", "policy holder",
    "account holder", "account name", "cardholder", "card holder", "holder", "driver",
    "traveller", "traveler", "attendee", "participant", "student name", "student", "member",
    "buyer", "seller", "consignee", "shipper", "caller", "owner", "spouse", "parent",
    "guardian", "witness", "signatory", "user", "username", "requester name", "agent",
    "ansprechpartner", "ansprechpartnerin", "kontaktperson", "kunde", "kundin", "empfänger",
    "absender", "antragsteller", "vorname und nachname", "nom complet", "nom et prénom",
    "destinataire", "expéditeur", "nombre completo", "nombre y apellidos", "destinatario",
    "remitente", "titular", "nome completo", "destinatário", "remetente", "naam",
    "contactpersoon", "ontvanger",
)  # fmt: skip
_FIELD_START = r"(?:^|(?<=[\n|;\[\](){}\t]))[ \t]{0,3}[\"']?"
_FIELD_SEP = r"[\"']?[ \t]{0,2}(?:[:：=|\t]|[-–—](?= ))[ \t]{0,3}[\"']?"
_ACT_LABELS = (
    "requester", "requested by", "reported by", "submitted by", "opened by", "created by",
    "raised by", "escalated by", "assigned to", "assignee", "signed by", "approved by",
    "filed by", "logged by", "cc", "bcc", "c/o", "care of",
)  # fmt: skip
NOT_A_PERSON = (
    r"(?:The|A|An|This|That|These|Your|My|Our|His|Her|Their|Its|Name|None|Not|Unknown|N/A|TBD"
    r"|Same|See|Please|Required|Optional|Enter|First|Last|Full|Customer|Client|Support|Service"
    r"|Team|Sales|Marketing|Product|Engineering|Finance|Accounting|Legal|Human|Admin|Internal"
    r"|External|Public|Private|General|All|Everyone|Whom|Staff|Management|Dear|Hello|Hi|Yes|No"
    r"|True|False|Null|Default|Example|Sample|Test|Demo|John Doe|Jane Doe)"
)
_LABEL_ALT = "|".join(
    re.escape(x).replace(r"\ ", r"[ _]") for x in sorted(_FIELD_LABELS, key=len, reverse=True)
)
EN_NAME_FIELD = (
    rf"{_FIELD_START}(?i:{_LABEL_ALT}){_FIELD_SEP}(?!{NOT_A_PERSON}(?![{LOWER}{UPPER}]))"
    rf"(?P<v>{FULL})(?![{LOWER}])"
)
_ACT_VARIANTS = "|".join(v for x in _ACT_LABELS for v in {x, x.capitalize(), x.upper()}).replace(
    " ", "[ ]"
)
EN_NAME_BY = (
    rf"\b(?:{_ACT_VARIANTS})[ \t]{{0,2}}:?[ \t]{{1,3}}(?!{NOT_A_PERSON}(?![{LOWER}{UPPER}]))"
    rf"(?P<v>{FULL})(?![{LOWER}])"
)
_BY_HINTS = tuple({x.split()[0] for x in _ACT_LABELS if len(x) > 3} | {"cc ", "bcc", "c/o"})


# A full name as the object of a message or a contact verb, or the subject of one, in a request
# of the writer's ("draft a thank-you note to …", "tell …", "… just texted me", "… from the
# landlord's office called"), or addressed at the start of a quotation or a greeting ("'…, you
# missed", "Hi …,"). Stories and questions about public figures have the same shapes, so these
# count only within 80 characters of a first-person word, "please" or "can you" on its line.
def _cased(words: str) -> str:
    """An alternation of each word as written, capitalised and upper-cased: cheaper to scan for
    than a case-insensitive group."""
    return "|".join(
        v for w in words.split("|") for v in dict.fromkeys((w, w.capitalize(), w.upper()))
    )


_MESSAGE = (
    "(?:"
    + _cased(
        "note|message|email|e-mail|mail|letter|card|text|reply|response|invitation|invite|toast"
        "|speech|recommendation|reference|apology|thank-you note|thank you note|memo|dm"
    )
    + ")"
)
_CONTACT_VERB = (
    "(?:"
    + _cased(
        "tell|ask|text|call|email|e-mail|remind|invite|thank|congratulate|message|ping|meet"
        "|meeting with|met with|talk to|talked to|spoke to|spoke with|speak to|speak with|reply to"
        "|respond to|apologise to|apologize to|write to|wrote to|introduce|introduce me to"
        "|forward it to|forward this to|send it to|send this to|visit|pick up|drop off|fire|hire|pay"
    )
    + ")"
)
_SUBJECT_VERB = (
    r"(?:just |also |already |finally |still |never )?"
    r"(?:texted|called|emailed|e-mailed|messaged|asked|told|wrote|sent|replied|rang|phoned"
    r"|pinged|invited|wants|needs|is coming|is visiting|came|visited|dm'd"
    r"|reached out|left|quit|hired|fired)\b"
)


def _name_act(g: str, h: str) -> str:
    return (
        rf"(?:\b{_MESSAGE}[ \t]{{1,2}}(?:to|for)|\b{_CONTACT_VERB})[ \t]{{1,2}}"
        rf"(?!{NOT_A_PERSON}(?![{LOWER}{UPPER}])|Me\b|Us\b|Him\b|Them\b|You\b|It\b)(?P<{g}>{FULL})(?![{LOWER}])"
        rf"|(?:^|(?<=[.!?;:\n])|\b(?:lol|omg|so|and|but|hey|ok|okay|btw|fyi|ugh|then|because|Lol|Omg|So|And|But|Hey|Ok|Okay|Btw|Fyi|Ugh|Then|Because)\b,?)"
        rf"[ \t]{{0,3}}(?!{NOT_A_PERSON}(?![{LOWER}{UPPER}]))(?P<{h}>{FULL})(?:[ \t]{{1,2}}{_SUBJECT_VERB}"
        rf"|[ \t]from[ \t](?:the |our |my |your )?[^\n.!?]{{1,40}}?[ \t]{_SUBJECT_VERB})"
    )


EN_NAME_ACT = _name_act("v", "w")


def _near_me(text: str, start: int, end: int) -> bool:
    """A first-person word, "please" or "can you" within 80 characters of the match, on its line."""
    lo, hi = max(0, start - 80), min(len(text), end + 80)
    nl = text.rfind("\n", lo, start)
    lo = nl + 1 if nl != -1 else lo
    nl = text.find("\n", end, hi)
    hi = nl if nl != -1 else hi
    return FIRST_PERSON_OR_REQUEST.search(text, lo, hi) is not None


def _act(text: str) -> bool:
    return TWO_CAPS.search(text) is not None and FIRST_PERSON_OR_REQUEST.search(text) is not None


# A full name addressed at the start of a quotation ("'Zsófia Iyer, you missed the deadline'")
# or after a greeting ("Hi Aino Kim,").
EN_NAME_ADDRESSED = (
    rf"['\"“‘](?!{NOT_A_PERSON}(?![{LOWER}{UPPER}]))(?P<v>{FULL}),[ \t](?i:you|your|please|thanks"
    rf"|thank|we|i|can|could|would|will|just|don't|i'm|welcome|congratulations)\b"
    rf"|\b(?:Hi|Hello|Hey|Good morning|Good afternoon|Good evening)[ \t,]{{1,2}}"
    rf"(?!{NOT_A_PERSON}(?![{LOWER}{UPPER}])|There\b|World\b)(?P<w>{FULL})(?=[ \t]{{0,2}}[,!:\n])"
)


# "Dr. Patel", "Mrs. Okafor": a title makes one capitalised word a name, but word problems and
# stories are full of "Mr. Sanchez's class"; a titled name counts only within 80 characters of a
# first-person word on the same line ("my appointment with Dr. Patel"), like the NER tier's names.
_HONORIFIC = r"(?:Mr|Mrs|Ms|Mx|Dr|Prof|Herr|Frau|Mme|Mlle)"


def _titled_name(group: str) -> str:
    return (
        rf"\b{_HONORIFIC}\.? (?!(?:Suite|Ste|Apt|Unit|Floor)\b)"
        rf"(?P<{group}>{CAP}(?: (?:[A-Z]\.|{PARTICLE}|{CAP})){{0,3}})(?![{LOWER}])"
    )


_ME = FIRST_PERSON.pattern
HONORIFIC_NAME = (
    rf"{_ME}[^\n]{{0,80}}?{_titled_name('v')}|{_titled_name('w')}(?=[^\n]{{0,80}}?{_ME})"
)
_HONORIFIC_HINT = re.compile(rf"\b{_HONORIFIC}\.? [{UPPER}]")


_TITLES = ("Mr", "Ms", "Mx", "Dr", "Prof", "Herr", "Frau", "Mme", "Mlle")


def _titled(text: str) -> bool:
    return any(t in text for t in _TITLES) and _HONORIFIC_HINT.search(text) is not None


_SEPARATORS = (":", "=", "|", "\t", "：", "- ", "– ", "— ")


def field_sep(text: str) -> bool:
    """A field label needs a separator after it (``_FIELD_SEP``)."""
    return any(s in text for s in _SEPARATORS)


_signoff = has(
    "regards", "wishes", "thank", "cheers", "best", "sincerely", "yours", "cordially",
    "respectfully", "warmly", "take care", require="\n",
)  # fmt: skip


DETECTORS: tuple[Detector, ...] = (
    Detector("PERSON", re.compile(EN_NAME_FIELD), field_sep),
    Detector("PERSON", re.compile(EN_NAME_BY), has(*_BY_HINTS)),
    Detector("PERSON", re.compile(EN_NAME_ACT), _act, around=_near_me),
    Detector(
        "PERSON",
        re.compile(EN_NAME_ADDRESSED),
        has("'", '"', "“", "‘", "hi", "hello", "hey", "good "),
    ),
    Detector("PERSON", re.compile(EN_NAME), has(*EN_NAME_CUES)),
    Detector("PERSON", re.compile(EN_NAME_HERE), has(" here")),
    Detector("PERSON", re.compile(EN_NAME_RELATION), has("my ", "our ")),
    Detector("PERSON", re.compile(EN_NAME_DEAR), has("dear ", "contact ")),
    Detector("PERSON", re.compile(EN_NAME_SIGNOFF), _signoff),
    Detector("PERSON", re.compile(HONORIFIC_NAME), _titled),
)
