"""Chat phrases of a women's-clothing shop, as small lists the simulator draws from.

Every phrase lives once in ``TEXTS``; the simulator only handles integer indices
into it (cheap to draw for millions of messages) and turns them into strings
when it writes the files. Index 0 is the empty text of a transfer row.

A *topic* pairs a buyer question with the answers an agent gives to it, so a
dialogue reads like one (这款有XL吗 → XL有货哦).
"""

from __future__ import annotations

import numpy as np

PRESALE, AFTERSALE, REFUND, SHIPPING = 0, 1, 2, 3  # session kinds, also the topic groups
# (SHIPPING: after-sales questions before the parcel left, AFTERSALE: after it did)

_PRESALE_TOPICS = [
    ("这款有XL吗", ["XL有货哦", "亲,XL还有少量库存,喜欢可以尽快拍下哦"]),
    ("我身高160体重105斤穿什么码", ["建议您拍M码哦", "亲,这个身高体重穿M码刚好"]),
    ("165/120斤穿L可以吗", ["亲,L码可以的,喜欢宽松一点可以拍XL", "可以的亲,L码正合适"]),
    ("发什么快递", ["默认发中通快递哦", "亲,我们默认发韵达,偏远地区发邮政"]),
    ("能便宜点吗", ["亲,已经是活动最低价了哦", "现在领券下单立减20元哦"]),
    ("今天能发货吗", ["亲,下午4点前付款当天发货哦", "付款后48小时内发货哦"]),
    ("这个面料起球吗", ["亲,这款是精梳棉的,不容易起球哦"]),
    ("有没有优惠券", ["亲,店铺首页可以领满199减20的券哦", "亲,活动期间满300减50哦"]),
    ("会掉色吗", ["亲,首次洗涤建议冷水手洗,不会掉色的哦"]),
    ("和图片颜色一样吗", ["亲,都是实物拍摄,色差很小的哦"]),
    ("包邮吗", ["亲,全国包邮(新疆西藏除外)哦"]),
    ("尺码偏大还是偏小", ["亲,这款版型偏宽松,建议拍小一码", "亲,尺码是标准的,按平时穿的拍就好"]),
    ("双11什么时候开始", ["亲,11号0点开抢哦,记得提前加购", "亲,10号晚上8点就可以付尾款了哦"]),
    ("定金能退吗", ["亲,定金是不退的哦,请谨慎下单"]),
    ("可以开发票吗", ["可以的亲,下单后备注抬头就好"]),
    ("这件是什么材质", ["亲,面料是95%棉5%氨纶", "亲,这款是100%羊毛的哦"]),
    ("能帮我备注早点发吗", ["亲,已经为您备注了哦"]),
    ("黑色还有货吗", ["亲,黑色有货的哦", "亲,黑色M码补货中,预计3天后到"]),
    ("可以试穿后再退吗", ["亲,支持7天无理由退换,不影响二次销售就可以哦"]),
    ("有运费险吗", ["亲,下单送运费险的哦"]),
]
_SHIPPING_TOPICS = [
    ("什么时候发货", ["亲,您的订单已经在打包了,今天会发出哦", "亲,活动订单较多,72小时内发货哦"]),
    ("能改地址吗", ["亲,已经为您备注修改地址了哦"]),
    ("能帮我备注一下尺码吗", ["亲,已经为您备注了哦"]),
    ("能催一下发货吗", ["亲,已经帮您催仓库了,今天会发出哦"]),
    ("可以一起发吗", ["亲,已经为您备注合并发货了哦"]),
]
_AFTERSALE_TOPICS = [
    ("物流怎么一直不动", ["亲,已经帮您联系快递了,请耐心等待一下哦"]),
    ("快递到哪了", ["亲,包裹已经到您所在城市了,预计明天送达"]),
    ("衣服有线头", ["亲,非常抱歉,给您补偿5元红包可以吗"]),
    ("尺码不合适能换吗", ["亲,支持7天无理由退换,请在订单页申请换货哦"]),
    ("少发了一件", ["亲,麻烦提供一下包裹照片,马上为您核实"]),
    ("怎么洗", ["亲,建议30度以下水温手洗,不要暴晒哦"]),
    ("发票什么时候开", ["亲,确认收货后3个工作日内开具哦"]),
    ("能催一下快递吗", ["亲,已经帮您催了,请耐心等待哦"]),
]
_REFUND_TOPICS = [
    ("我要退货", ["亲,您在订单页面申请退货退款就可以了", "亲,选择七天无理由退货,运费险会赔付运费"]),
    ("拍错了能退款吗", ["亲,还没发货的话直接申请仅退款,我这边马上同意"]),
    ("退款什么时候到账", ["亲,退款已经处理,1-3个工作日原路退回", "亲,仓库收到退货后24小时内为您退款"]),
    ("退货地址是哪里", ["亲,退货地址在退款页面可以看到哦"]),
    ("质量有问题", ["亲,非常抱歉,麻烦发一下照片,我们为您处理退款"]),
    ("退货运费谁出", ["亲,您有运费险的话运费会自动理赔哦"]),
    ("退款怎么还没处理", ["亲,已经为您加急处理了", "亲,已经同意退款了,请查收"]),
]
_CLOSING_TOPIC = ("好的,那我拍了", ["好的亲,感谢支持~", "好的亲,拍下后尽快为您发货哦"])

_HELLO = ["在吗", "你好", "在不在", "亲在吗", "有人吗", "您好", "hi"]
_BURST = ["在吗?", "?", "有人吗", "急", "麻烦看一下", "我等着下单呢", "人呢", "快点回复一下"]
_GREET = ["亲,在的", "您好,在的亲,请问有什么可以帮您?", "在的呢亲", "亲,在的哦,欢迎光临"]
_ADDON = {
    PRESALE: [
        "还有其他问题可以随时找我哦",
        "亲,现在下单今天就能发货哦",
        "喜欢的话可以先加购哦",
        "亲,这款是我们店的爆款哦",
    ],
    AFTERSALE: ["给您带来不便非常抱歉", "有问题随时联系我们哦", "亲,已经为您备注", "祝您生活愉快"],
    REFUND: ["给您带来不便非常抱歉", "亲,已经为您备注", "请问还有其他问题吗"],
    SHIPPING: ["有问题随时联系我们哦", "亲,发货后会第一时间通知您", "感谢您的耐心等待"],
}
_BOT = {
    PRESALE: [
        "您好,我是店小蜜,很高兴为您服务",
        "亲,尺码建议请查看详情页尺码表哦",
        "亲,活动规则请查看店铺首页哦",
        "请问还有什么可以帮您?",
    ],
    AFTERSALE: ["您好,我是店小蜜,很高兴为您服务", "亲,您可以点击下方菜单查询物流哦"],
    REFUND: ["您好,我是店小蜜,很高兴为您服务", "亲,退货退款请在订单页面申请哦"],
    SHIPPING: ["您好,我是店小蜜,很高兴为您服务", "亲,订单会按付款顺序尽快发出哦"],
}
_ASK_HUMAN = ["转人工", "人工客服", "人工", "我要找人工"]
_REMINDER = [
    "亲,看到您拍下还没付款哦,现在付款今天就能发货",
    "亲,您的订单还未付款,优惠券快过期了哦",
    "亲,库存不多了,记得及时付款哦",
]
_FOLLOW_UP = ["亲,还在考虑吗?有问题随时找我哦", "亲,这款今天下单有优惠哦", "亲,刚才的问题还有疑问吗"]

TEXTS: list[str] = [""]


def _add(phrases: list[str]) -> tuple[int, int]:
    """Append phrases to TEXTS; return (offset, count) of the new block."""
    offset = len(TEXTS)
    TEXTS.extend(phrases)
    return offset, len(phrases)


HELLO = _add(_HELLO)
BURST = _add(_BURST)
GREET = _add(_GREET)
ASK_HUMAN = _add(_ASK_HUMAN)
REMINDER = _add(_REMINDER)
FOLLOW_UP = _add(_FOLLOW_UP)
ADDON = {kind: _add(p) for kind, p in _ADDON.items()}
BOT = {kind: _add(p) for kind, p in _BOT.items()}

# Rare lines a quality inspection (kefu.qc) must catch: an agent's add-on turned into a
# violation, a buyer's nudge into a complaint threat. Rates are per add-on / nudge slot.
AGENT_VIOLATION_RATE, BUYER_COMPLAINT_RATE = 0.003, 0.01
AGENT_VIOLATIONS = _add(
    [
        "有问题可以加我微信详聊哦",
        "亲,收到给个五星好评返现5元哦",
        "说了多少遍了,详情页都有写",
        "亲,不走淘宝的话可以私下转账便宜点",
    ]
)
BUYER_COMPLAINTS = _add(["再不回复我就投诉了", "什么破服务,给差评", "你们是骗子吧"])

# Topics: global topic id -> question text index, answers block (offset, count).
_all_topics: list[tuple[str, list[str]]] = []
TOPICS: dict[int, tuple[int, int]] = {}  # kind -> (first topic id, number of topics)
for _kind, _topics in (
    (PRESALE, _PRESALE_TOPICS),
    (AFTERSALE, _AFTERSALE_TOPICS),
    (REFUND, _REFUND_TOPICS),
    (SHIPPING, _SHIPPING_TOPICS),
):
    TOPICS[_kind] = (len(_all_topics), len(_topics))
    _all_topics.extend(_topics)
CLOSING_TOPIC = len(_all_topics)
_all_topics.append(_CLOSING_TOPIC)

TOPIC_QUESTION = np.array([_add([q])[0] for q, _ in _all_topics], dtype=np.int32)
_answer_blocks = [_add(answers) for _, answers in _all_topics]
TOPIC_ANSWER_OFFSET = np.array([o for o, _ in _answer_blocks], dtype=np.int32)
TOPIC_ANSWER_COUNT = np.array([n for _, n in _answer_blocks], dtype=np.int32)


def pick(block: tuple[int, int], u: np.ndarray) -> np.ndarray:
    """Text indices drawn uniformly from a block, given uniforms u in [0, 1)."""
    offset, count = block
    return (offset + (u * count).astype(np.int32)).astype(np.int32)


def pick_by_kind(blocks: dict[int, tuple[int, int]], kind: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Like pick, with a block per session kind (kind is an array)."""
    offsets = np.array([blocks[k][0] for k in sorted(blocks)], dtype=np.int32)
    counts = np.array([blocks[k][1] for k in sorted(blocks)], dtype=np.int32)
    return (offsets[kind] + (u * counts[kind]).astype(np.int32)).astype(np.int32)


def rarely(text: np.ndarray, u: np.ndarray, rate: float, block: tuple[int, int]) -> np.ndarray:
    """Replace a `rate` share of the texts by phrases of `block`, chosen by the low-order bits of the
    same uniforms `u` that chose the texts: no new draws, so the random stream stays as it was."""
    spare = np.modf(u * 2.0**20)[0]  # independent of the leading bits that picked the phrase
    hit = spare < rate
    out = text.copy()
    out[hit] = pick(block, spare[hit] / rate)
    return out


def answer(topic: np.ndarray, u: np.ndarray) -> np.ndarray:
    """An answer text index for each topic id."""
    return TOPIC_ANSWER_OFFSET[topic] + (u * TOPIC_ANSWER_COUNT[topic]).astype(np.int32)


# Refund reasons and complaint kinds are short lists too, but they are table
# values, not chat text, so they stay plain lists.
QUICK_REFUND_REASONS = ["拍错了", "不想要了", "多拍了", "发货太慢"]
RETURN_REASONS = ["尺码不合适", "七天无理由退货", "质量问题", "与描述不符", "颜色不喜欢"]
COMPLAINT_KINDS = {
    "回复慢": "咨询半天才回复",
    "未回复": "问了问题一直没人回",
    "服务态度差": "客服态度敷衍",
    "承诺未兑现": "说好当天发货结果没发",
    "推诿责任": "让我找快递自己解决",
}
