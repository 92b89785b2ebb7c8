"""Chinese status words the keypad may show: the glyph table is built from this list.

``hallvote firmware build`` renders every character of these words (plus the
reason texts of :mod:`protocol.reasons`, the choice labels of
:data:`protocol.consts.CHOICE_LABELS` and every CJK character in a string
literal under ``firmware/`` and ``protocol/``) into the keypad's glyph table
(:mod:`firmware.hal.glyphs`).  Add a word here, or use it in a string
literal, and the next build can draw it.  Reason texts stay in
``protocol/reasons.py``.
"""

__all__ = ["STATUS_WORDS"]

STATUS_WORDS = (
    # check-in
    "请签到", "已签到", "签到中", "补签", "签到未开",
    # voting
    "表决中", "请表决", "已发送", "已记录", "已更改", "重试中", "未记录", "请稍候",
    "暂停", "结束", "已结束", "倒计时", "秒", "第", "轮", "项", "共",
    "无记名", "记名", "首次按键有效", "以最后一次为准", "可修改",
    # results
    "应到", "实到", "未按", "通过", "未通过", "当选", "未当选", "平票", "结果",
    # rating grades beyond the choice labels
    "满意度", "测评",
    # link and device
    "离线", "在线", "连接中", "已连接", "信号", "电量", "低电量", "充电",
    "会议", "议题", "座位", "设备", "固件", "版本", "配置", "技术员", "维护",
    "未绑定", "未配置", "错误", "故障", "重启",
    # navigation
    "确认", "取消", "上一项", "下一项", "选择",
    # member card
    "请插卡", "请刷卡", "已插卡", "卡已取出", "无效卡",
)  # fmt: skip
