"""Small synthetic appeal histories for the classifier tests (no shared data needed)."""

from __future__ import annotations

import random

TOPICS = {
    "城乡建设": ["物业", "小区", "电梯", "漏水", "房屋", "维修", "业主", "开发商", "装修"],
    "教育文体": ["学校", "学生", "老师", "招生", "学位", "补课", "幼儿园", "教育局", "考试"],
    "交通运输": ["公交", "出租车", "道路", "红绿灯", "停车", "拥堵", "司机", "线路", "站台"],
    "环境保护": ["噪音", "污染", "垃圾", "排放", "工厂", "异味", "废水", "扬尘", "环保"],
}
PLACES = ["向阳区", "前进区", "东风区", "郊区", "光复路", "长安路", "杏林湾"]
FILLER = ["希望", "有关部门", "尽快", "处理", "解决", "反映", "问题", "我们", "市民", "严重", "影响", "生活",
          "多次", "没有", "结果", "谢谢", "领导", "请求", "关注"]


def message(rng: random.Random, topic: str) -> list[str]:
    """A message as a list of words: topic words, a place, filler, in random order."""
    words = [*rng.sample(TOPICS[topic], 3), rng.choice(PLACES), *rng.sample(FILLER, 5)]
    rng.shuffle(words)
    return words


def corpus(n_per_topic: int, seed: int = 0, *, segmented: bool = False) -> tuple[list[str], list[str]]:
    rng = random.Random(seed)
    texts, labels = [], []
    for topic in TOPICS:
        for _ in range(n_per_topic):
            words = message(rng, topic)
            texts.append(" ".join(words) if segmented else "".join(words) + rng.choice(["。", "！", "？", ""]))
            labels.append(topic)
    order = list(range(len(texts)))
    rng.shuffle(order)
    return [texts[i] for i in order], [labels[i] for i in order]
