"""Does a chat turn only make sense after the turns before it?

"make it shorter", "now translate that into French", "and the second point?", "what about
Python?", "继续", "再简短一点", "把上面的翻译成英文", "第二点呢？" were written against an earlier
answer: alone, they give an annotator or a fine-tuning run nothing to act on. Sent without
their history they are rejected ``needs_context``; with it, they are curated with it
(services/clean/chain.py).

A standalone prompt wrongly flagged is lost, while a follow-up missed is one poor prompt among
the accepted, so the cues are the strong ones only, and most apply to short turns without
material of their own ("Rewrite this sentence in the passive voice: He installed it." carries
its sentence; "Rewrite it in the passive voice." does not):

1. **The whole turn is a continuation or a reaction**: "continue", "go on", "tell me more",
   "why?", "and then?", "继续", "还有呢", "为什么".
2. **It points at the conversation**, at any length: "your previous answer", "you said", "the
   above code", "上面", "刚才", "你说的", "你的回答".
3. **An edit of something it does not contain**: an edit verb whose object is "it", "that",
   "this" or "them" with nothing after it but the change asked ("make it shorter", "translate
   that into French", "can you parallelize it?", "把它翻译成英文", "再简短一点", "这个代码能并行吗").
4. **An elliptic question**: "what about Python?", "and the second point?", "the other one?",
   "No, I meant ...", "Python呢？", "第二点呢？", "不，我是问 ...".

``python -m bench followups`` measures it on a labelled set of public multi-turn chats
(bench/data/followups: tuned on ``dev``, reported on ``holdout``) and its false positives on
the public prompts. Linear time: the patterns read a bounded head of the text and have no
nested quantifiers. Pure: no model, no I/O; text arrives normalized and redacted.
"""

from __future__ import annotations

import re

HEAD = 400  # characters the cues read: the instruction is at the start of a short turn
SHORT_WORDS = 12  # English: rules 3 and 4 apply to turns of at most this many words
SHORT_CJK = 24  # Chinese: ... and of at most this many characters
_CJK = re.compile(r"[\u3400-\u9fff]")
_EDGES = " \t\n.,!?;:…~'\"()[]*-—。，！？；：、“”‘’（）《》【】"

# --- English ------------------------------------------------------------------------------

_EN_WHOLE = frozenset(  # the whole turn, as lower-case words joined by spaces
    [
        *"continue more why and again next elaborate expand shorter longer simpler".split(),
        *"yes no ok okay sure thanks".split(),
        "go on",
        "keep going",
        "carry on",
        "tell me more",
        "say more",
        "why not",
        "how so",
        "and then",
        "then what",
        "what then",
        "what else",
        "anything else",
        "what next",
        "explain more",
        "explain further",
        "more details",
        "in more detail",
        "more detail",
        "go deeper",
        "another one",
        "one more",
        "another example",
        "more examples",
        "yes please",
        "no thanks",
        "thank you",
        "go ahead",
        "please continue",
        "please go on",
        "please elaborate",
        "finish it",
        "the rest",
    ]
)
_EN_POINTS = re.compile(  # at any length: these name the conversation, not the message
    r"\byour (?:previous|last|earlier|prior|original|above|first|second) "
    r"(?:answer|response|reply|message|output|result|example|code|suggestion|list|point|"
    r"explanation|version|story|poem|essay|email|text|paragraph|one|question|sentence)s?\b"
    r"|\byou (?:just |have |already )?(?:said|mentioned|wrote|suggested|gave me|listed|"
    r"described|told me|recommended|provided) (?:above|earlier|before|previously)\b"
    r"|\byou just (?:said|mentioned|wrote|suggested|gave|listed|described|told)\b"
    r"|\bwhat you (?:just )?(?:said|wrote|meant|mentioned)\b|\bas you (?:said|mentioned)\b"
)
_EN_SHORT_POINTS = re.compile(  # in a short turn without material of its own
    r"\byour (?:answer|response|reply|explanation|suggestion|code|list|story|poem|essay|"
    r"example|version|advice|idea|ideas|suggestions)s?\b"
    r"|\byou (?:said|mentioned|wrote|suggested|gave|listed|described|recommended)\b"
    r"|\b(?:the|that|this) (?:above|previous|last|aforementioned) (?:one|answer|response|"
    r"list|code|example|text|version|reply|paragraph|story|poem)\b"
    r"|^(?:anything|something|what) else\b|^any (?:other|more)\b|\bthe next step\b"
    r"|\bthe rest of (?:the|it|them)\b"
    r"|\b(?:tell|show|give) me more(?: about (?:it|that|this|them))?$"
)
_EN_REPLY = re.compile(  # a reply or a reaction opens the turn
    r"^(?:yes|yeah|yep|yup|sure|no|nope|nah|okay|ok|alright|exactly|right|really|oh|wow|"
    r"great|cool|interesting|hmm|i agree|i see|got it|i know|i guess|i mean|i meant|fine|"
    r"that's|thats|that is|that sounds|that was|that would|sounds|it is|it's|it was|"
    r"they are|they're|he is|he's|she is|she's|this is|those are|these are|but|or|also|"
    r"like)\b"
)
_EN_DANGLING = re.compile(  # a pronoun ends a short question with nothing it could refer to
    r"\b(?:it|that|them|him|her|this|those|these|one)[?.!]*$"
)
_EN_ANTECEDENT = re.compile(r"\b(?:a|an|the|my|some|his|her|our|their|this|these|those) [a-z]")
_EN_LEAD = r"^(?:(?:now|ok|okay|thanks|great|good|nice|cool|please|and|but|so|then),? )*"
_EN_ASK = r"(?:(?:can|could|would|will) you (?:please |also |now )?|please |now |also )?"
_EN_EDIT = re.compile(
    _EN_LEAD + _EN_ASK + r"[a-z]+(?: it| that| this| them| those| these)"
    r"(?:$| (?:more|less|a bit|a little|shorter|longer|simpler|better|again|into|in|to|as|"
    r"for|so|with|using|without|please|up|down|even|much|slightly|fit|sound|look|rhyme|"
    r"formal|casual|funnier|clearer|shorter|concise|professional|polite|friendlier)\b)"
)
_EN_ELLIPSIS = re.compile(
    _EN_LEAD + r"(?:what|how) about\b"
    r"|^and (?:what|how|the|for|in|if|why|who|where|when|with|about)\b"
    r"|^(?:no|nope|not that|wrong),? (?:i|it|that|the|you|not)\b"
    r"|^(?:i meant|i mean)\b"
    r"|\bthe (?:first|second|third|fourth|fifth|last|other|next|previous|same) "
    r"(?:one|point|option|step|item|part|paragraph|example|idea|suggestion|answer|version)s?"
    r"(?: (?:please|again|instead|too|then))?$"
    r"|^(?:why|how) (?:is|was|does|did) (?:it|that|this)$"
)
_WORD = re.compile(r"[a-z0-9']+")

# --- Chinese ------------------------------------------------------------------------------

_ZH_WHOLE = frozenset(
    "继续 接着 接着说 继续说 然后呢 还有呢 还有吗 为什么 为啥 怎么说 展开说说 展开讲讲 详细点 "
    "详细一点 再详细一点 具体点 具体一点 再具体一点 举个例子 再举个例子 换一个 再来一个 再来 "
    "还有别的吗 还有其他的吗 然后 好的 谢谢 是的 不是 对 不对 可以 嗯 好 行 蛤".split()
)
_ZH_POINTS = re.compile(  # at any length: the user addresses what the assistant said
    "你刚才|你刚刚|你之前说|你上面|你上一|你前面|你说的|你给出的|你写的|你提到的|你列出的|你举的|"
    "你的回复|你重新"
)
_ZH_SHORT_POINTS = re.compile(  # in a short turn without material of its own
    "上面|上述|上文|刚才|刚刚|以上哪|以上的(?:内容|回答|代码|建议|方法|几)|之前的回答|前面的|"
    "上一个|上一条|上一段|你的回答|你的答案|这个回答|回答的|你给的|除此之外|还有别的|"
    "还有其他|其他的呢|别的呢|再多|再给|多给|换个|换一"
)
_ZH_EDIT = re.compile(
    "^(?:那|那么|好的|好|请|麻烦)?[，,]?(?:再|重新)(?:简短|短|长|详细|具体|简单|正式|通俗|改|翻译|"
    "解释|说|来|写|精简|扩写|润色|优化|生成|回答|总结)"
    "|^(?:那|那么|请|麻烦|可以|能|能不能)?[，,]?(?:把|将)(?:它|它们|这|那|这个|那个|这段|那段|这些|"
    '那些|这篇|这首|以上)(?![^，,。]*[《“"])'
    "|(?:它|这个|那个|这段|这首|这篇|这些)(?:代码|程序|函数|故事|诗|文章|回答|答案|内容|方案|例子)?"
    "(?:能|能不能|可以|可不可以|要|再|怎么|如何)?(?:翻译|改|改写|解释|缩短|优化|重写|并行|总结|简化|扩展|"
    "运行|修改|润色|精简)"
    "|(?:这|那)(?:段|首|篇|里|一步|部分)"
)
_ZH_REPLY = re.compile(  # a reply opens the turn ("好的，那…", "不，我是问…", "那么你…")
    "^(?:(?:好的|好|了解|明白|谢谢|感谢|非常感谢|嗯|哈哈|是的|对|不|不是|不对|可是|但是)[，,.。!！]"
    "|那么?你|那么?如果|那么?要是)"
)
_ZH_ELLIPSIS = re.compile(
    "^(?:不|不是|不对|错了)[，,]|^第[一二三四五六七八九十\\d]+(?:点|条|个|步|段|种|部分)|^(?:那|那么)(?:如果|要是)"
)
VERY_SHORT_CJK = 8  # "Python呢？", "第二点呢", "那你呢"


def needs_context(text: str, lang: str) -> bool:
    """True when ``text`` depends on earlier turns of its conversation (module docstring)."""
    head = text[:HEAD]
    if lang == "zh" or _CJK.search(head[:64]):
        return _zh(head, len(text))
    if lang == "en" or head.isascii():
        return _en(head.lower(), len(text))
    return False


def _en(head: str, n: int) -> bool:
    if _EN_POINTS.search(head):
        return True
    words = _WORD.findall(head)
    if not words or n > HEAD or len(words) > SHORT_WORDS or "\n" in head or ":" in head:
        return False  # material of its own: only an explicit pointer (above) counts
    whole = " ".join(words)
    if whole in _EN_WHOLE:
        return True
    core = head.strip(_EDGES)
    if _EN_EDIT.match(core) or _EN_ELLIPSIS.search(core) or _EN_SHORT_POINTS.search(core):
        return True
    if _EN_REPLY.match(core):
        return True
    if _EN_DANGLING.search(core) and "?" in head:
        before = core[: _EN_DANGLING.search(core).start()]  # type: ignore[union-attr]
        return not _EN_ANTECEDENT.search(before)
    return False


def _zh(head: str, n: int) -> bool:
    if _ZH_POINTS.search(head):
        return True
    core = head.strip(_EDGES)
    if n > SHORT_CJK or "\n" in core or "：" in core or ":" in core:
        return False
    if core in _ZH_WHOLE or (len(core) <= VERY_SHORT_CJK and core.endswith("呢")):
        return True
    return bool(
        _ZH_SHORT_POINTS.search(core)
        or _ZH_EDIT.search(core)
        or _ZH_ELLIPSIS.search(core)
        or _ZH_REPLY.match(core)
    )
