"""A stream unlike the generator's and the public prompts: one product domain, a long shared
preamble, several languages.

Every prompt is a support request about one product (a smart thermostat), sent by an app
that prefixes the same instructions to each; requests differ by the action and the device
model they ask about (hard negatives: most of their words are shared) and arrive as repeats,
light edits and rewordings. Languages: English, French, German, Spanish (Latin script, read by
the model's vocabulary) and Chinese (mostly [UNK]: the lexical path). Mean-pooled static
vectors are dominated by a shared preamble; the transformer reads at most 256 word pieces.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterator

PREAMBLE = (
    "You are the support assistant of Lumio Home. Answer as a friendly technician, in the "
    "language of the question, in at most five short steps, and never ask for the customer's "
    "address, payment details or account password. If a repair needs a visit, say so and "
    "point to the booking page. Customer question:"
)
ACTIONS = {
    "en": ["reset the wifi settings", "update the firmware", "calibrate the temperature sensor",
           "set a weekly heating schedule", "turn on eco mode", "pair the remote sensor",
           "connect it to my voice assistant", "replace the battery", "change the display units to Fahrenheit",
           "share access with my family", "export the energy report", "disable the child lock"],
    "fr": ["réinitialiser le wifi", "mettre à jour le micrologiciel", "calibrer le capteur de température",
           "programmer le chauffage de la semaine", "activer le mode éco", "appairer le capteur distant"],
    "de": ["das WLAN zurücksetzen", "die Firmware aktualisieren", "den Temperatursensor kalibrieren",
           "einen Wochenplan für die Heizung einstellen", "den Eco-Modus einschalten", "den Fernsensor koppeln"],
    "es": ["restablecer el wifi", "actualizar el firmware", "calibrar el sensor de temperatura",
           "programar la calefacción semanal", "activar el modo eco", "emparejar el sensor remoto"],
    "zh": ["重置无线网络设置", "更新固件", "校准温度传感器", "设置每周供暖计划", "打开节能模式", "配对远程传感器"],
}  # fmt: skip
FORMS = {
    "en": ["How do I {a} on my Lumio {m}?", "What are the steps to {a} on a Lumio {m}?",
           "Can you tell me how to {a} on the Lumio {m}?"],
    "fr": ["Comment {a} sur mon Lumio {m} ?", "Quelles sont les étapes pour {a} sur un Lumio {m} ?"],
    "de": ["Wie kann ich beim Lumio {m} {a}?", "Welche Schritte braucht es, um beim Lumio {m} {a}?"],
    "es": ["¿Cómo puedo {a} en mi Lumio {m}?", "¿Cuáles son los pasos para {a} en un Lumio {m}?"],
    "zh": ["如何在我的 Lumio {m} 上{a}？", "在 Lumio {m} 上{a}的步骤是什么？"],
}  # fmt: skip
MODELS = ["T1", "T2 Pro", "Mini"]
LANG_WEIGHTS = {"en": 0.5, "fr": 0.15, "de": 0.15, "es": 0.1, "zh": 0.1}


def _edit(text: str, rng: random.Random) -> str:
    """A light edit: case, punctuation or a filler word."""
    roll = rng.random()
    if roll < 0.3:
        return text.lower()
    if roll < 0.6:
        return text.rstrip("?？ ") + rng.choice(["??", "", " ?", "!"])
    return rng.choice(["please ", "hi, ", "quick question: "]) + text


def product_prompts(
    n: int, seed: int = 7, preamble: bool = True
) -> list[tuple[str, str, tuple[str, int, str]]]:
    """(text, language, request) triples; prompts of one request are near duplicates."""
    rng = random.Random(seed)
    langs, weights = list(LANG_WEIGHTS), list(LANG_WEIGHTS.values())
    out = []
    for _ in range(n):
        lang = rng.choices(langs, weights)[0]
        a = rng.randrange(len(ACTIONS[lang]))
        m = rng.choice(MODELS)
        form = rng.choice(FORMS[lang])
        text = form.format(a=ACTIONS[lang][a], m=m)
        if rng.random() < 0.4:
            text = _edit(text, rng)
        out.append(((f"{PREAMBLE} {text}" if preamble else text), lang, (lang, a, m)))
    return out


def product_events(n: int, seed: int = 7, prefix: str = "pr") -> Iterator[bytes]:
    """The same prompts as contract events (chat.events), one user per prompt."""
    for i, (text, _, _) in enumerate(product_prompts(n, seed)):
        event = {
            "event_id": f"{prefix}-{i:07d}",
            "prompt": text,
            "user_id": f"user-{i}",
            "source": "real",
            "ts": 1_700_000_000_000 + i * 50,
        }
        yield json.dumps(event, ensure_ascii=False).encode()
