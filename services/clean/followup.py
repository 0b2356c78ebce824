"""Does a chat turn only make sense after the turns before it?

A curated prompt is one turn read alone. "make it shorter", "now translate that into French",
"thanks, and the second point?", "what about Python?", "继续", "再简短一点", "第二点呢？" were
written against an earlier answer the curator never sees: as a training prompt they are
noise. ``needs_context`` flags such turns with a handful of cues, each there because the
labelled turns in bench/data/followups/dev.jsonl showed it (``python -m bench followups``
measures it, on that set and on a holdout never tuned on).

The cues, in the order they are tried:

1. **Material.** A long turn, or one with several lines or a code fence, carries its own
   text: "<pasted essay> make it shorter" is self-contained. Only an explicit reference to
   the conversation ("your previous answer", "上面的", "继续") still counts in it.
2. **Whole-turn replies.** "yes", "no", "thanks", "go on", "why?", "继续", "谢谢", "对": a
   reaction or an answer to the assistant's question, nothing to act on.
3. **Openers that answer or object.** "Yes, just ...", "No, I mean ...", "But ...",
   "And ...", "What about X?", "不，", "可是": the turn continues an exchange. Politeness
   ("thanks", "ok", "好的", "那") is stripped and the rest judged on its own, so "Thanks! Now
   write a haiku about rain" stays standalone.
4. **References to the conversation.** "your last response", "you said", "the second one",
   "tell me more", "anything else", "上面", "刚才", "你说的", "第二点", "再详细一点", "还有呢".
5. **Unresolved pronouns and demonstratives** (English): "it", "that", "them", "her" with no
   noun phrase before them in the turn ("Can you parallelize it?", "help me hack her
   account") count; "I have a list of numbers, sort it" does not (the list is introduced
   first). Chinese: "它", "这个代码", "这首诗" and other demonstratives in a short turn.

Linear time: the text is scanned once for its length and shape; the cue patterns only read a
bounded head and tail of it, and they are literal alternations without nested quantifiers.
Pure: no model, no I/O. Text arrives normalized and redacted; ``{{EMAIL}}``-style
placeholders are read as blanks.
"""

from __future__ import annotations

import re

from services.clean.text import cjk_ratio

# Beyond these sizes a turn is taken to carry its own material (rule 1). Chinese packs about
# three times the content per character.
MATERIAL_CHARS = {"en": 400, "zh": 150}
MATERIAL_LINES = 4
# Cues are looked for in the first HEAD characters (openers, short requests) and the last
# TAIL (an instruction after pasted text): bounded work however long the turn.
HEAD = 300
TAIL = 160
# A turn of at most this many words with no request word of its own is an answer fragment
# ("Mostly MDMA.", "marriage", "both"): rule 2.
FRAGMENT_WORDS = 3

_PLACEHOLDER = re.compile(r"\{\{[A-Z_]+\}\}")
_LATIN = re.compile(r"[A-Za-z]")
_CJK = re.compile(r"[\u3400-\u9fff]")
_WORD = re.compile(r"[a-z]+(?:'[a-z]+)?")
_CAPITALIZED = re.compile(r"(?<=[a-z,;:] )[A-Z][a-z]+")
_EDGE_PUNCT = " \t\n.,!?;:…~'\"()[]*-—。，！？；：、“”‘’（）《》【】"

# --- English ---------------------------------------------------------------------------------

# Rule 2: the whole turn (lowercased, punctuation stripped) is one of these.
_EN_REPLIES = frozenset(
    """yes yep yeah yea ya yup no nope nah ok okay k sure thanks thank you thx ty cool great
    good nice wow really exactly correct right true agreed perfect awesome interesting
    continue go on go ahead keep going more why how how so what huh hmm oh ah lol haha
    please please do yes please no thanks of course i see got it i agree me too same
    both neither either none all of them not really not at all never mind next again
    and then then what so what and so""".split()
)
_EN_REPLY_PHRASES = frozenset(
    {
        "thank you",
        "go on",
        "go ahead",
        "keep going",
        "how so",
        "please do",
        "yes please",
        "no thanks",
        "of course",
        "i see",
        "got it",
        "i agree",
        "me too",
        "all of them",
        "not really",
        "not at all",
        "never mind",
        "and then",
        "then what",
        "so what",
        "and so",
        "tell me more",
        "what else",
        "anything else",
        "why not",
        "how come",
        "like what",
        "such as",
        "for example",
        "for instance",
        "what do you mean",
        "what's that",
        "what is that",
        "sounds good",
        "that's it",
        "go for it",
    }
)
_EN_REPLY_WORDS = frozenset(
    "yes yep yeah yea ya yup no nope nah ok okay k sure thanks thx ty cool great good nice "
    "wow really exactly correct right true agreed perfect awesome interesting continue more "
    "why how what huh hmm oh ah lol haha please next again both neither either none".split()
)
# Rule 2: a short fragment is a follow-up unless it opens like a request or a greeting.
_EN_REQUEST_START = frozenset(
    "hi hello hey what how why who where when which can could would will should is are do "
    "does did tell give write list show explain make help find describe name define "
    "translate summarize create generate insults jokes talk call".split()
)
# Rule 3: openers that answer the assistant or object to it. Matched on the first words.
_EN_ANSWER_OPENERS = (
    "yes",
    "yeah",
    "yep",
    "yea",
    "yup",
    "no",
    "nope",
    "nah",
    "but",
    "and",
    "or",
    "not",
    "exactly",
    "right",
    "true",
    "agreed",
    "wow",
    "oh",
    "hmm",
    "huh",
    "haha",
    "lol",
    "well",
    "sorry",
    "also",
    "instead",
)
_EN_ANSWER_PHRASES = (
    "what about",
    "how about",
    "what if",
    "and what",
    "i mean",
    "i meant",
    "i said",
    "i asked",
    "i know",
    "i agree",
    "i disagree",
    "i guess",
    "i would",
    "i did",
    "i didn't",
    "i don't think",
    "i'm not sure",
    "you said",
    "you just",
    "you didn't",
    "you did",
    "you can't",
    "you are",
    "you're",
    "your answer",
    "your response",
    "that's",
    "that is",
    "that was",
    "that would",
    "that sounds",
    "that makes",
    "that doesn't",
    "this is",
    "it is",
    "it's",
    "it was",
    "they are",
    "they're",
    "he is",
    "he's",
    "she is",
    "she's",
    "so you",
    "so i",
    "so there",
    "any other",
    "anything else",
    "what else",
    "is that",
    "was that",
    "does that",
    "do they",
    "did they",
    "are they",
    "was it",
    "did it",
    "why not",
    "how come",
    "of course",
    "why do you think",
    "why would",
    "why did you",
    "let's start",
    "let's get back",
    "let's go",
)
# Politeness and discourse openers stripped before the rest is judged (rule 3).
_EN_SOFT_OPENERS = frozenset(
    "thanks thank you ok okay alright cool great good nice perfect awesome so now then please "
    "hey hi hello".split()
)
# Rule 4: references to the conversation anywhere in the head or tail.
_EN_REFERENCES = re.compile(
    r"\b(?:"
    r"(?:your|the) (?:previous|last|earlier|above|prior|first|second|third) "
    r"(?:answer|response|reply|message|output|version|example|list|point|one|option|idea|"
    r"suggestion|step|paragraph|sentence|question|code|story|poem)"
    r"|you (?:just )?(?:said|mentioned|suggested|told me|wrote|gave|listed|recommended)"
    r"|as i (?:said|mentioned|asked)|i (?:just )?(?:said|asked|meant)"
    r"|the (?:above|same|rest|other one|other ones|last one|first one|second one|third one)"
    r"|(?:first|second|third|fourth|fifth|last) (?:one|point|option|step|item|idea)"
    r"|tell me more|more (?:details|detail|examples|ideas|options|suggestions|info)"
    r"|anything else|any other (?:ideas|suggestions|options|ways|tips)|what else"
    r"|(?:explain|elaborate) (?:further|more|on (?:that|this|it))|go on|keep going"
    r"|(?:continue|finish) (?:writing|the|from|where)|where you left off"
    r"|(?:shorter|longer|simpler|more concise|more formal|less formal)$"
    r"|how (?:do|should|can) i (?:start|begin)|the next step|where (?:do|should) i start"
    r"|\w though$"
    r"|(?:say|do|try|write) (?:it|that) again|one more (?:time|example)|another one"
    r"|in (?:english|french|spanish|german|chinese|japanese|python|java|javascript|c\+\+)\?$"
    r")\b"
)
# Rule 5: words that stand for something said before.
_EN_PRONOUNS = frozenset("it that this these those them they he she him her his their".split())
_EN_PERSON_PRONOUNS = frozenset("they he she him her his their them".split())
# Words that introduce a referent for a following pronoun inside the same turn.
_EN_INTRODUCERS = frozenset("a an my our some".split())
_EN_PEOPLE = frozenset(
    """someone somebody anyone person people man woman men women guy girl boy kid kids child
    children friend friends wife husband boyfriend girlfriend partner mom dad mother father
    parent parents brother sister son daughter boss neighbor neighbour coworker teacher
    student family baby ex""".split()
)
# "that"/"this" are demonstratives (not relatives or complementizers) when they end a clause
# or precede one of these.
_EN_DEMONSTRATIVE_NEXT = frozenset(
    "is was would will sounds seems makes means does did one ones way guy person point idea "
    "answer list code story poem text essay sentence paragraph article question again too "
    "for to into in with about as from on by and but so please more now".split()
)
# "is it true/possible/..." and "it is ... to": the dummy "it" refers to nothing.
_EN_DUMMY_IT_NEXT = frozenset(
    "true possible ok okay legal illegal safe bad normal wrong right better best easy "
    "hard fine good worth smart dangerous a raining cold hot time".split()
)


def _en_words(text: str) -> list[str]:
    return _WORD.findall(text.lower().replace("’", "'"))


def _en_unresolved(words: list[str], capitals: set[str]) -> bool:
    """A pronoun or demonstrative with no referent introduced before it in the turn: a noun
    phrase opened by a/an/my/some, a name (a capitalized word past the first), or, for he/she
    and the like, a word for a person; failing those, five longer words of its own."""
    introduced = person = False
    content = 0
    for i, w in enumerate(words):
        nxt = words[i + 1] if i + 1 < len(words) else ""
        prev = words[i - 1] if i else ""
        if w in _EN_PRONOUNS:
            if w == "it" and (nxt in _EN_DUMMY_IT_NEXT or prev in ("is", "was") and nxt):
                continue
            if (
                w in ("that", "this", "those", "these")
                and nxt
                and nxt not in _EN_DEMONSTRATIVE_NEXT
            ):
                if w == "that" or content >= 2:
                    continue  # a relative "that", or "this <noun>" after a stated topic
            if w in _EN_PERSON_PRONOUNS and w not in ("them", "they"):
                if not (person or introduced):
                    return True
                continue
            if not introduced and content < 5:
                return True
        if w in _EN_INTRODUCERS and nxt.removesuffix("'s") not in _EN_PEOPLE:
            introduced = True
        if w.removesuffix("'s") in _EN_PEOPLE or (i and w in capitals):
            person = True
            introduced = introduced or w in capitals
        if len(w) > 3:
            content += 1
    return False


def _strip_soft(words: list[str]) -> list[str]:
    i = 0
    while i < len(words) and (
        words[i] in _EN_SOFT_OPENERS or words[i] == "you" and i and words[i - 1] == "thank"
    ):
        i += 1
    return words[i:]


def _en(text: str, material: bool) -> bool:
    head = text[:HEAD].lower().replace("’", "'")
    tail = text[-TAIL:].lower().replace("’", "'")
    if _EN_REFERENCES.search(head) or _EN_REFERENCES.search(tail):
        return True
    if material:
        return False
    words = _en_words(head)
    if not words:
        return False
    flat = " ".join(words)
    if flat in _EN_REPLIES or flat in _EN_REPLY_PHRASES:
        return True
    if all(w in _EN_REPLY_WORDS for w in words):
        return True
    rest = _strip_soft(words)
    if not rest:
        return True
    flat = " ".join(rest)
    if rest[0] in _EN_ANSWER_OPENERS and len(rest) > 1:
        return True
    if any(flat == p or flat.startswith(p + " ") for p in _EN_ANSWER_PHRASES):
        return True
    if len(rest) <= FRAGMENT_WORDS and rest[0] not in _EN_REQUEST_START:
        return True
    capitals = {w.lower() for w in _CAPITALIZED.findall(text[:HEAD]) if w != "I"}
    return _en_unresolved(rest, capitals)


# --- Chinese ---------------------------------------------------------------------------------

_ZH_REPLIES = frozenset(
    """继续 接着 接着说 接着写 然后呢 还有呢 还有吗 还有 谢谢 谢谢你 感谢 多谢 好的 好 好吧 行 可以
    是的 是 对 对的 不对 不是 不 没有 嗯 哦 噢 啊 哈哈 很好 不错 回答的不错 你说的对 完美 正确 错了
    为什么 怎么说 什么意思 比如 例如 举个例子 详细 详细点 详细一点 展开 展开说说 更多 再来 再来一个
    换一个 重新 重来 重新回答 没错 明白了 懂了 知道了 原来如此 继续写 继续说 说下去 讲下去""".split()
)
_ZH_ANSWER_OPENERS = (
    "不，",
    "不,",
    "不是",
    "不对",
    "可是",
    "但是",
    "但",
    "而且",
    "并且",
    "还有",
    "所以",
    "我的意思是",
    "我是说",
    "我是问",
    "我问的是",
    "我指的是",
    "我说的是",
    "其实",
    "然后",
    "那么如果",
    "哈哈",
    "蛤",
    "是的",
    "对，",
    "对的",
    "没错",
    "原来如此",
    "看来",
    "感觉",
)
# Rule 4: references to the conversation anywhere in the head or tail.
_ZH_REFERENCES = re.compile(
    r"上面|上述|以上的|以上内容|以上回答|以上代码|以上步骤|以上几|刚才|刚刚|之前|前面|你说|你提到|你的回答|你的回复|你回答|你给出|你给的"
    r"|你写的|你列|你推荐|你这|你那|继续|接着|再详细|再具体|再简|再多|再来|再写|再讲|再说|再给|再举"
    r"|再列|再生成|再用|再改|更详细|更具体|更简|详细一点|详细一些|详细点|具体一点|简短一点|短一点"
    r"|长一点|多一点|展开讲|展开说|换一个|换个|还有其他|还有别的|还有什么|其他的吗|别的吗|重新写"
    r"|重新回答|重新生成|重新编写|改一下|改成|翻译成|你虽然|你还是|你又|你错了|你重复|你漏了|你没有回答"
    r"|你没回答|你理解错|你误解"
)
# Rule 5: demonstratives and pronouns that point outside a short turn.
_ZH_DEICTIC = re.compile(
    r"它|他们|她们|这[个些段首篇句种本部里是款件都次]|那[个些段首篇句种本部里是]|這[個些段首篇句種本部裡是]"
    r"|那個|其中|他|她|更多|以上|里面的|中间的|哪一[个首种本部]|下列|下面的|以下的"
    r"|^如果.{0,25}(?:怎么样|怎么办|呢)[?？]?$|第[一二三四五六七八九十\d]+(?:点|个|条|步|首|种|部|段|项|句|章)"
    r"|^(?:你能否|你能|能否|能不能|可以|请)?(?:展示|给出|解释|修改|优化|运行|翻译|总结)(?:一下)?(?:代码|问题|答案|文章|作文|文本|句子|程序)"
)
# In a longer turn a demonstrative usually points at something the turn itself introduced.
ZH_SHORT = 30
_ZH_GREETINGS = ("你好", "您好", "嗨", "哈喽", "在吗", "测试", "hello", "hi")
_ZH_SOFT = (
    "谢谢你",
    "谢谢",
    "感谢",
    "好的",
    "好吧",
    "嗯",
    "那么",
    "那你",
    "那我",
    "那",
    "非常感谢",
    "很好",
)


def _zh(text: str, material: bool) -> bool:
    head, tail = text[:HEAD], text[-TAIL:]
    if _ZH_REFERENCES.search(head) or _ZH_REFERENCES.search(tail):
        return True
    if material:
        return False
    bare = text.strip(_EDGE_PUNCT)
    if bare in _ZH_REPLIES:
        return True
    if head.startswith(_ZH_ANSWER_OPENERS):
        return True
    if head.rstrip(_EDGE_PUNCT).endswith("呢") and len(bare) <= 12:
        return True  # "第二点呢？", "Python 呢": an elliptic question about something said
    stripped = True
    while stripped:
        stripped = False
        for soft in _ZH_SOFT:
            if bare.startswith(soft):
                bare = bare[len(soft) :].lstrip(_EDGE_PUNCT)
                stripped = True
                break
    if not bare:
        return True
    if len(bare) <= 3 and not bare.lower().startswith(_ZH_GREETINGS):
        return True  # "正确的", "取走": an answer fragment
    return len(bare) <= ZH_SHORT and _ZH_DEICTIC.search(bare) is not None


# --- entry point -----------------------------------------------------------------------------


def needs_context(text: str, lang: str) -> bool:
    """True when the turn depends on earlier turns of its conversation: anaphora to an answer
    the turn does not contain, a continuation or edit request, an answer or reaction to the
    assistant, an elliptic "what about X?". False for self-contained requests (also when they
    carry their own material), for empty or placeholder-only text, and when the language is
    neither Chinese nor written in Latin letters (nothing here can judge it)."""
    body = _PLACEHOLDER.sub(" ", text).strip()
    if not body:
        return False
    chinese = lang == "zh" or (lang != "en" and cjk_ratio(body[:HEAD]) >= 0.2)
    if chinese and _CJK.search(body[:HEAD]):
        code = "zh"
    elif _LATIN.search(body[:HEAD]):
        code = "en"
    else:
        return False  # emoji, digits, another script: no cue applies
    lines = body.count("\n") + 1
    material = len(body) > MATERIAL_CHARS[code] or lines >= MATERIAL_LINES or "```" in body
    return _zh(body, material) if code == "zh" else _en(body, material)
