"""Input guard: cheap checks that reject a query before any model sees it, each with a reason code."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from contracts.messages import RejectReason

_OTHER_WORDS = r"(?:(?!my\b|our\b)[\w'-]+\s+){0,6}?"  # "ignore my previous instructions" is a customer
_INJECTION = re.compile(
    # overriding the assistant's rules, with any few words in between ("disregard the router rules")
    rf"\b(ignore|disregard|forget|override|bypass)\s+{_OTHER_WORDS}"
    r"(instructions|rules|prompts?|guidelines|guardrails|restrictions|policies|filters)\b"
    # asking for the assistant's own prompt, configuration or secrets
    r"|\b(reveal|print|show|repeat|leak|output|dump|display|reply\s+with|give\s+me|tell\s+me)\s+(me\s+)?"
    r"(your\s+((system\s+)?prompt|(system|hidden|initial|original|secret)\s+(instructions|rules)|"
    r"config(uration)?|api\s+keys?|secrets|credentials)"
    r"|the\s+(system\s+prompt|(hidden|initial|original|secret)\s+(instructions|rules|prompt)|"
    r"(admin|root|administrator)\s+password|api\s+keys?|config(uration)?\s+file|env(ironment)?\s+variables))\b"
    # role play that lifts the rules, and fake role headers
    r"|\b(pretend|imagine|act\s+as\s+if)\s+(that\s+)?you\s+(have|had|are|were)\s+(no|not\s+bound\s+by|free\s+of)"
    r"\s+(\w+\s+)?(restrictions|rules|limits|filters|guidelines)"
    r"|\byou\s+are\s+now\s+(in\s+)?(dan|developer\s+mode|jailbroken|unrestricted|unfiltered)"
    # wiping what the assistant was told (a customer's "forget what I said" is a correction)
    r"|\b(forget|ignore|disregard)\s+(everything|all|anything)\s+(that\s+)?you(\s+were|\s+have\s+been|'ve\s+been)\s+"
    r"(told|given|instructed)"
    r"|\b(act|behave|respond)\s+(as|like)\s+an?\s+(unrestricted|unfiltered|uncensored|jailbroken)\b"
    r"|\bjailbreak\b|^\s*(system|developer)\s*:|<\|im_start\|>|\[/?(system|inst)\]",
    re.IGNORECASE,
)
_UNSAFE = re.compile(
    r"\b(make|build|assemble|synthesi[sz]e|cook)\b.{0,40}"
    r"\b(bomb|explosive|nerve agent|meth|methamphetamine|fentanyl|ricin|sarin|pipe bomb)s?\b"
    # harming a person or an animal ("hurt my back", "hurt my credit score" are ordinary questions)
    r"|\b(kill|hurt|poison|harm)\s+(someone|somebody|a\s+person|people|(my|his|her|their|our)\s+"
    r"(wife|husband|partner|spouse|ex|girlfriend|boyfriend|boss|neighbou?r|mum|mom|mother|dad|father|"
    r"brother|sister|son|daughter|kids?|child|children|baby|family|friend|roommate|flatmate|colleague|"
    r"coworker|teacher|landlord|tenant|dog|cat|pet))\b"
    r"|\b(untraceable|unregistered|ghost|unserialized)\s+(gun|firearm|pistol|rifle|weapon)s?\b"
    # covert access to another person's accounts, devices or messages
    r"|\b(someone|somebody|another\s+person)('s|\s+else's)\b.{0,60}\bwithout\s+(them|him|her|their)\b.{0,12}"
    r"\b(knowing|knowledge|noticing|consent|permission)\b"
    r"|\b(hack(ing)?|break(ing)?\s+into)\s+(into\s+)?(someone|somebody|my\s+[\w-]+'s|an?\s+[\w-]+'s|(his|her|their)\s+)"
    r"|\b(clone|cloning)\s+(a|an|someone'?s|somebody'?s|his|her|their)?\s*sim\b"
    r"|\b(read|intercept|spy\s+on|monitor)\s+(my\s+(wife|husband|partner|girlfriend|boyfriend|spouse|ex)'?s?|"
    r"someone('s|\s+else's)|somebody('s|\s+else's)|(his|her)\s+)\s*(texts?|messages|emails?|calls|whatsapp)\b"
    # fraud: making forged documents or phishing messages (a customer reporting one is not asking)
    r"|\b(make|create|generate|write|draft|design|produce|print|photoshop|edit|forge)\b.{0,30}"
    r"\b(fake|forged|counterfeit|falsified|doctored)\s+(\w+\s+){0,2}?(passports?|ids?|id\s+cards?|"
    r"identity\s+(cards?|documents?)|driv(er'?s|ing)\s+licen[cs]es?|bank\s+statements?|payslips?|pay\s+stubs?|"
    r"utility\s+bills?|documents?|visas?|boarding\s+pass(es)?|prescriptions?|certificates?|diplomas?)\b"
    r"|\b(make|create|generate|write|draft|design|build)\b.{0,40}\bphishing\b"
    # other customers' personal data
    r"|\b(other|all|every)\s+(customers|users|clients|account\s+holders)'?\s+"
    r"(e-?mails?|email\s+addresses|phone\s+numbers|addresses|card\s+numbers|personal\s+data|details|passwords)\b",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class GuardVerdict:
    reason_code: RejectReason
    reason: str


def check(text: str, max_chars: int) -> GuardVerdict | None:
    """None when the query may be routed, else why it may not."""
    stripped = text.strip()
    if not stripped:
        return GuardVerdict("empty", "the query is empty")
    if len(text) > max_chars:
        return GuardVerdict("oversize", f"the query has {len(text)} characters; the limit is {max_chars}")
    control = sum(
        1 for ch in stripped if unicodedata.category(ch) in ("Cc", "Cs", "Co") and ch not in "\n\t\r"
    )
    letters = sum(1 for ch in stripped if ch.isalpha())
    if control or letters == 0:
        return GuardVerdict("not_text", "the query is not readable text")
    if _INJECTION.search(stripped):
        return GuardVerdict("injection", "the query tries to override the assistant's instructions")
    if _UNSAFE.search(stripped):
        return GuardVerdict("unsafe", "the query asks for help with something harmful")
    return None
