"""Chinese names, by cue and by context: a common surname and one or two more characters.

Without word boundaries in Chinese, the surname list is what keeps "我是学生" from becoming a
name. A name counts after the words that introduce it ("我叫", "联系人："), after a word that
takes a person in a request of the writer's ("给", "通知", "同事"), before a form of address
("先生"), in a form field ("收件人写的是…"), before 的 and a personal document, or after a time
word and before a verb. A Latin-script full name after such a Chinese word counts too
("请帮我给 Aino Kovács 回").
"""

from __future__ import annotations

import re

from services.clean.pii.lexicon import LOWER, UPPER
from services.clean.pii.names import FULL, NOT_A_PERSON
from services.clean.pii.patterns import Detector, not_ascii

_SURNAMES_2 = "欧阳|司马|上官|诸葛|东方|皇甫|尉迟|公孙|慕容|长孙|宇文|司徒|夏侯|令狐|端木"
_SURNAMES_1 = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕"
    "丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严"
    "覃武戴莫孔向汤常温康施文牛樊葛邢安齐易乔伍庞颜倪庄聂章鲁岳翟殷詹申欧耿关兰焦俞左柳甘祝包宁尚"
    "符舒阮柯纪梅童凌毕单季裴霍涂成苗谷盛曲翁冉骆蓝路游辛靳管柴蒙鲍华喻祁蒲房滕屈饶解牟艾尤阳时穆"
    "农司卓古吉缪简车项连芦麦褚娄窦戚岑景党宫费卜冷晏席卫米柏宗瞿桂全佟应臧闵苟邬边卞姬师和仇栾隋"
    "商刁沙荣巫寇桑郎甄丛仲虞敖巩明佘池查麻苑迟邝傅洪阎鄢郁蔺练"
)
_NOT_IN_NAME = "的是在了和与想要请我你他她也就都还吗呢吧啊，。！？、：:；想问"
_ZH_GIVEN = rf"(?:(?![{_NOT_IN_NAME}])[\u4e00-\u9fff]){{1,2}}"
_SURNAME = rf"(?:{_SURNAMES_2}|[{_SURNAMES_1}])"
_ZH_NAME_CORE = rf"{_SURNAME}{_ZH_GIVEN}"
ZH_NAME = (
    r"(?:我叫|我的名字是|我的名字叫|名字叫|本人|姓名|联系人|收件人|收货人|签名|署名)"
    r"\s{0,2}(?:是|为|[:：])?\s{0,2}"
    rf"(?P<v>{_ZH_NAME_CORE})"
    # "我是" also starts "我是成功的": there the name must end the clause
    rf"|我是(?P<w>{_ZH_NAME_CORE})(?=$|[，,。.！!？?\s])"
)
# Without a naming cue, a surname and one or two characters is a name only as the object or the
# subject of a request about a person: after a word that takes a person ("给", "通知", "同事",
# "称呼") and before a verb, a particle or punctuation, or before a form of address ("先生",
# "老师"). The end of the name must be one of those, so "给方法加注释" is no name; and the
# text must be a request of the writer's (我, 帮, 请), checked by the precheck.
_ZH_PERSON_CUE = (
    r"(?:给|找|称呼|通知|告诉|联系|约|转交给|交给|提醒|邀请|感谢|谢谢|回复|"
    r"同事|朋友|客户|老板|领导|上司|经理|老师|同学|室友|邻居|表姐|表哥|姐姐|哥哥|妹妹|弟弟|"
    r"老公|老婆|丈夫|妻子|女朋友|男朋友|儿子|女儿|提交人|申请人|负责人|经办人|寄件人|顾客)"
)
_ZH_AFTER = (
    r"(?=$|[，,。.！!？?、；;：:\s）)]|写|发|打|回|说|来|去|会|要|想|已|明天|今天|昨天|"
    r"下周|上周|吃|见|买|送|聊|问|提|反映|取|签|开|做|帮|一下|一起|看|讲|借|还|寄|收|打电话|发邮件)"
)
_ZH_TITLE = r"(?:先生|女士|小姐|老师|经理|总监|主任|医生|大夫|教授|律师|同学|师傅|阿姨|叔叔|总)"
ZH_NAME_WEAK = (
    rf"{_ZH_PERSON_CUE}(?:一下)?\s{{0,2}}(?P<v>{_ZH_NAME_CORE})"
    rf"(?:{_ZH_AFTER}|(?={_ZH_TITLE}))"
    rf"|(?P<w>{_ZH_NAME_CORE})(?={_ZH_TITLE}(?:$|[，,：:！!。\s]|您好|你好))"
)


def _zh_request(text: str) -> bool:
    """A short request of the writer's: a story or an article quoted in a long prompt is full of
    transliterated names that start with a surname character ("马克", "安东尼")."""
    return (
        len(text) <= 200
        and not text.isascii()
        and any(w in text for w in ("我", "帮", "请", "麻烦", "您"))
    )


# Labels of forms and tickets before a name, with "写的是/填的是" between ("收件人写的是…",
# "提交人：…"); a name before 的 and a personal document ("这是…的简历"); a name after a time word and
# before a verb ("明天…会来取件"); and a Latin-script full name after a Chinese word that takes a
# person ("请帮我给 Aino Kovács 回", "我的老板 Baraka Kim wants").
_ZH_FIELD = (
    r"(?:提交人|申请人|负责人|经办人|寄件人|发件人|对接人|患者|病人|乘客|旅客|持卡人|被保险人|投保人"
    r"|受益人|户主|填表人|报告人|签收人|收件人|收货人|联系人|客户姓名|用户姓名|真实姓名|姓名|用户|客户"
    r"|员工|学生|租客|房东|业主|买家|卖家|司机|代理人|担保人|监护人|紧急联系人)"
)
ZH_NAME_FIELD = (
    rf"{_ZH_FIELD}\s{{0,2}}(?:(?:写的是|填的是|填写的是)\s{{0,2}}[:：]?|[:：])\s{{0,2}}"
    rf"(?P<v>{_ZH_NAME_CORE})(?={_ZH_AFTER}|的|[0-9])"
)
ZH_NAME_CONTEXT = (
    rf"{_ZH_FIELD}\s{{0,2}}(?:是|为|叫)?\s{{0,2}}(?P<v>{_ZH_NAME_CORE})(?={_ZH_AFTER}|的)"
    rf"|(?:^|(?<=[，,。！？!?\s：:])|这是|那是|把|看看|查一下|关于)(?P<w>{_ZH_NAME_CORE})的"
    r"(?=简历|电话|手机|地址|邮箱|生日|订单|合同|工资|病历|护照|身份证|账号|账户|快递|包裹|照片|资料"
    r"|信息|档案|申请|论文|作业|成绩|报销|请假|推荐信|婚礼|葬礼|家人|孩子|老公|老婆|妈妈|爸爸)"
    rf"|(?:明天|今天|昨天|后天|今晚|明早|明晚|上午|下午|晚上|周[一二三四五六日末]|下周[一二三四五六日]?)"
    rf"(?!高铁|温度|全天|金额|方案|和平|江湖|程序|文件|时间|石油|黄金|白天|马上|余额|向前|钱包|路上)"
    rf"(?P<x>{_SURNAME}{_ZH_GIVEN}?)"
    r"(?=会|要|来|去|过来|回来|说|想|打|发|给|在|到|请|约|找|生日|结婚|出差|请假)"
)
ZH_LATIN_NAME = (
    rf"(?:{_ZH_PERSON_CUE}|我叫|我是|名字是|姓名|联系人|收件人|收货人)\s{{0,2}}[:：]?\s{{0,2}}"
    rf"(?!{NOT_A_PERSON}(?![{LOWER}{UPPER}]))(?P<v>{FULL})(?![{LOWER}])"
)


DETECTORS: tuple[Detector, ...] = (
    Detector("PERSON", re.compile(ZH_NAME), not_ascii),
    Detector("PERSON", re.compile(ZH_NAME_WEAK), _zh_request),
    Detector("PERSON", re.compile(ZH_NAME_FIELD), not_ascii),
    Detector("PERSON", re.compile(ZH_NAME_CONTEXT), _zh_request),
    Detector("PERSON", re.compile(ZH_LATIN_NAME), _zh_request),
)
