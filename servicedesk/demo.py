"""Demo data: staff in every role, the reference data, and customers at any scale.

Used by ``manage.py seed_demo`` and by ``bench/customer_lookup.py``. The fixed
reference data (areas, teams, departments, staff, tariff plans, scripts) is
written with get/update-or-create, so running it again changes nothing.
Customers are generated in batches of plain rows (see ``_RowWriter``) from a
seeded ``random.Random``; service numbers and resident IDs come from bijections of
the customer's primary key, so they are unique by construction and need no
per-row query or phonenumbers call.
"""
from __future__ import annotations

import importlib
import io
import math
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from datetime import timezone as dt_timezone
from decimal import Decimal

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import Group
from django.core.management.color import no_style
from django.db import connection, models, reset_queries, transaction
from django.utils import timezone

from .models import (
    Channel, Contact, ContactLink, Customer, Department, IdType, InboundSms, Outcome, Script, ServiceArea, Subscription, TariffPlan, Team,
    User, VipTier,
)
from .roles import Role

DEMO_PASSWORD = "demo1234"
DEFAULT_SEED = 20240601
DEFAULT_BATCH = 5000
# Customers 1..SHOWCASE_CUSTOMERS get 138 0000 00NN as their first number, for people trying the demo.
SHOWCASE_CUSTOMERS = 20
SHOWCASE_PREFIX = "138"

Log = Callable[[str], None]


# --- Rules -------------------------------------------------------------------

_VIP_THRESHOLDS = (
    (Decimal("500"), VipTier.DIAMOND),
    (Decimal("300"), VipTier.GOLD),
    (Decimal("150"), VipTier.SILVER),
)


def vip_tier_for_spend(total_monthly_spend: Decimal) -> str:
    """The VIP tier for a customer's total monthly spend (CNY) over all subscriptions."""
    for threshold, tier in _VIP_THRESHOLDS:
        if total_monthly_spend >= threshold:
            return tier.value
    return VipTier.ORDINARY.value


_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"


def resident_id_check_digit(first17: str) -> str:
    """The 18th character of a resident ID (GB 11643-1999, ISO 7064 MOD 11-2)."""
    return _ID_CHECK[sum(int(c) * w for c, w in zip(first17, _ID_WEIGHTS, strict=True)) % 11]


def resident_id_is_valid(value: str) -> bool:
    """Format, birth date and check digit of an 18-character resident ID."""
    if len(value) != 18 or not value[:17].isdigit():
        return False
    try:
        date(int(value[6:10]), int(value[10:12]), int(value[12:14]))
    except ValueError:
        return False
    return value[17].upper() == resident_id_check_digit(value[:17])


class _Scatter:
    """``k -> (k * a + b) mod m``: a bijection of 0..m-1 that looks random for consecutive k."""

    def __init__(self, m: int, hint: int, offset: int):
        a = hint
        while math.gcd(a, m) != 1:
            a += 1
        self.m, self.a, self.b = m, a, offset % m

    def __call__(self, k: int) -> int:
        return (k * self.a + self.b) % self.m


# --- Reference data ------------------------------------------------------------

# Mainland mobile prefixes valid with any eight following digits (checked in the tests).
MOBILE_PREFIXES = (
    "130", "131", "132", "133", "134", "135", "136", "137", "138", "139",
    "150", "151", "152", "153", "155", "156", "157", "158", "159",
    "180", "181", "182", "183", "184", "185", "186", "187", "188", "189",
    "198",
)
# 138 is kept for the showcase customers; everyone else draws from the other 29.
_GENERAL_PREFIXES = tuple(p for p in MOBILE_PREFIXES if p != SHOWCASE_PREFIX)
_MOBILE_SPACE = len(_GENERAL_PREFIXES) * 10**8
FIXED_AREA_CODE = "022"  # Tianjin: 022 + eight digits starting 2-8
_FIXED_SPACE = 7 * 10**7
STAFF_MOBILE_PREFIX = "1470022"  # 147 is a valid mobile block no customer draws from

# Tianjin districts with their resident-ID region codes.
DISTRICT_CODES = {
    "和平区": "120101", "河东区": "120102", "河西区": "120103", "南开区": "120104", "河北区": "120105",
    "红桥区": "120106", "东丽区": "120110", "西青区": "120111", "津南区": "120112", "北辰区": "120113",
    "武清区": "120114", "宝坻区": "120115", "滨海新区": "120116", "宁河区": "120117", "静海区": "120118", "蓟州区": "120119",
}
# People who moved to Tianjin: Hebei, Shandong, Beijing, Henan, Shanxi, Inner Mongolia, Heilongjiang, Anhui.
_MIGRANT_REGIONS = (
    "130102", "130203", "130602", "131002", "370102", "370203", "110105", "410102", "140105", "150102", "230103", "340104",
)

# code, name, district, streets, communities
AREAS = (
    ("TJ-HP-01", "和平区劝业场片区", "和平区", ("南京路", "滨江道", "和平路", "哈密道"), ("福明里", "安乐村", "宝华里", "大庆里")),
    ("TJ-HP-02", "和平区小白楼片区", "和平区", ("大沽北路", "曲阜道", "解放北路", "营口道"), ("新兴里", "泰安里", "睦南花园", "贵州里")),
    ("TJ-HX-01", "河西区友谊路片区", "河西区", ("友谊路", "围堤道", "大沽南路", "黑牛城道"), ("友谊里", "谊景村", "平山里", "云际花园")),
    ("TJ-HX-02", "河西区梅江片区", "河西区", ("紫金山路", "洞庭路", "珠江道", "友谊南路"), ("梅江湾", "玉水园", "芳水园", "蓝水园")),
    ("TJ-NK-01", "南开区鼓楼片区", "南开区", ("城厢中路", "东马路", "南马路", "鼓楼东街"), ("鼓楼北里", "龙亭小区", "万德庄", "鼓楼东里")),
    ("TJ-NK-02", "南开区水上公园片区", "南开区", ("水上公园西路", "卫津路", "复康路", "宾水西道"), ("天塔里", "凌宾花园", "王顶堤", "风荷园")),
    ("TJ-HD-01", "河东区大王庄片区", "河东区", ("十一经路", "六纬路", "大直沽八号路", "津塘路"), ("嘉华里", "丰盈里", "东兴里", "七纬里")),
    ("TJ-HB-01", "河北区中山路片区", "河北区", ("中山路", "金钟河大街", "昆纬路", "狮子林大街"), ("新开里", "宙纬里", "昆纬里", "元纬里")),
    ("TJ-HQ-01", "红桥区西沽片区", "红桥区", ("西沽南路", "光荣道", "芥园道", "红旗路"), ("西沽公园里", "丁字沽一号路", "光荣里", "芥园西里")),
    ("TJ-BH-01", "滨海新区塘沽片区", "滨海新区", ("解放路", "杭州道", "新港路", "河北路"), ("华云园", "福州里", "新港二村", "金江路小区")),
    ("TJ-XQ-01", "西青区杨柳青片区", "西青区", ("柳口路", "西青道", "津同公路", "新华道"), ("芳馨家园", "御河湾", "文化花园", "馨园里")),
    ("TJ-DL-01", "东丽区东丽湖片区", "东丽区", ("津汉公路", "先锋东路", "跃进路", "东丽大道"), ("万科城", "恒大绿洲", "湖景园", "丽湖苑")),
)
# How customers spread over the areas (city centre denser).
_AREA_WEIGHTS = (12, 9, 11, 8, 10, 9, 8, 8, 6, 9, 5, 5)

TEAMS = ("话务一组", "话务二组", "话务三组", "外呼组")

# code, name
DEPARTMENTS = (
    ("NET", "网络维护部"),
    ("BILL", "计费账务部"),
    ("CS", "客户服务部"),
    ("DLV", "物流配送部"),
    ("BB", "宽带装维中心"),
)

# code, name, monthly fee, kind ("mobile" or "fixed"), weight among its kind, earliest activation
TARIFF_PLANS = (
    ("4G-19", "4G随心卡19元", "19.00", "mobile", 10, date(2014, 1, 1)),
    ("4G-39", "4G畅享套餐39元", "39.00", "mobile", 14, date(2014, 1, 1)),
    ("4G-59", "4G畅享套餐59元", "59.00", "mobile", 18, date(2014, 1, 1)),
    ("5G-129", "5G畅享套餐129元", "129.00", "mobile", 22, date(2019, 11, 1)),
    ("5G-RH-169", "5G融合套餐169元（含300M宽带）", "169.00", "mobile", 12, date(2019, 11, 1)),
    ("5G-199", "5G畅享套餐199元", "199.00", "mobile", 12, date(2019, 11, 1)),
    ("5G-299", "5G尊享套餐299元", "299.00", "mobile", 7, date(2019, 11, 1)),
    ("5G-599", "5G至尊套餐599元", "599.00", "mobile", 2, date(2019, 11, 1)),
    ("FX-25", "固话基础套餐25元", "25.00", "fixed", 30, date(2005, 1, 1)),
    ("BB-300M-99", "300M光宽带+固话99元", "99.00", "fixed", 45, date(2012, 1, 1)),
    ("BB-1000M-149", "千兆光宽带+固话149元", "149.00", "fixed", 25, date(2020, 6, 1)),
)

# Surnames, roughly by frequency, and given-name characters by gender.
_SURNAMES = (
    "王" * 10 + "李" * 10 + "张" * 9 + "刘" * 8 + "陈" * 6 + "杨" * 5 + "赵" * 4 + "黄" * 3 + "周" * 3 + "吴" * 3
    + "徐孙胡朱高林何郭马罗梁宋郑谢韩唐冯于董萧程曹袁邓许傅沈曾彭吕苏卢蒋蔡贾丁魏薛叶阎余潘杜戴夏钟汪田任姜范方石姚谭廖邹熊金陆郝孔白崔康毛邱秦江史顾侯邵孟龙万段雷钱汤尹黎易常武乔贺赖龚文"
)
_MALE = "伟强磊军洋勇杰涛明超斌鹏辉刚浩宇俊峰建国志海文博凯鑫晨亮兵健平东波斌翔宏林松岩毅鸿振天佳子轩睿泽"
_FEMALE = "芳娜敏静丽艳娟霞秀英华玲燕红梅琳雪婷慧莹晶洁颖倩琪萱怡欣悦涵雨佳婧蕾薇月兰凤桂玉珍淑"

# Names of the demo staff, in the order of _staff_plan().
_STAFF_NAMES = tuple(
    "李建华 王晓燕 张志强 刘洋 陈静 杨帆 赵磊 黄丽 周涛 吴敏 徐鹏 孙婷 胡军 朱琳 高峰 林雪 何勇 郭佳 马超 罗慧 梁斌 宋倩 郑凯 谢颖 "
    "韩东 唐悦 冯宇 于蕾 董亮 程芳 曹毅 袁月 邓鑫 许晨 傅薇 沈博 曾敏 彭浩 吕琪 苏娟 卢振 蒋欣 蔡鸿 贾兰 丁翔 魏婧 薛平 叶红".split()
)

CONTACT_WINDOW_DAYS = 180


# --- Scripts ---------------------------------------------------------------------

_B, _S, _C = Script.Kind.BUSINESS, Script.Kind.SERVICE, Script.Kind.COMPLAINT_TEMPLATE
SCRIPTS = (
    (_S, "服务规范/Service", "开场白（热线）", "greeting opening hotline 开场",
     "您好，很高兴为您服务，我是{工号}号客服代表，请问有什么可以帮您？\n"
     "（识别到VIP客户时）尊敬的{客户星级}客户您好，欢迎致电专属服务热线。"),
    (_S, "服务规范/Service", "结束语与满意度邀请", "closing survey 满意度 结束",
     "请问还有其他可以帮您的吗？感谢您的来电，稍后可能会有短信邀请您对本次服务进行评价，祝您生活愉快，再见！"),
    (_S, "服务规范/Service", "请客户稍候（保持通话）", "hold wait 稍候 静音",
     "为了给您准确的答复，需要为您查询一下，请您稍等约一分钟，不要挂机，谢谢。\n"
     "（超过一分钟）让您久等了，还在为您查询，请再稍候。"),
    (_S, "服务规范/Service", "身份核验话术", "verification identity 实名 身份证 服务密码",
     "为保障您的账户安全，办理该业务需要核实机主身份。请您提供机主姓名和身份证号码后四位，或输入服务密码。\n"
     "注意：不得向来电人透露完整证件号码、地址或通话详单。"),
    (_B, "话费查询/Billing", "本月话费与余额查询", "billing balance 话费 余额 账单",
     "您的号码当前可用余额为{余额}元，本月截至今日已产生费用{本月费用}元，其中套餐月租{月租}元，"
     "超出套餐部分{超套费用}元。您也可以发送短信CXHF到10001或在掌上营业厅查询实时话费。"),
    (_B, "话费查询/Billing", "账单明细解释（超套流量）", "bill detail overage data 流量 超套 账单",
     "您本月账单中的{金额}元是国内通用流量超出套餐部分的费用，计费标准为{单价}。"
     "建议您开通流量加油包或升级至更高档位套餐，避免下月继续产生超套费用。"),
    (_B, "话费查询/Billing", "充值未到账处理", "recharge payment top-up 充值 未到账 缴费",
     "请您提供充值时间、金额和充值渠道（银行卡/支付宝/微信）。一般充值在10分钟内到账；"
     "如超过2小时仍未到账，我们将为您提交缴费核查工单，处理时限24小时，结果以短信通知。"),
    (_B, "5G套餐/Tariff", "5G套餐升级推荐", "5G upgrade tariff plan 升级 套餐 营销",
     "根据您近三个月平均流量使用{月均流量}GB，推荐您办理5G畅享套餐129元，含通用流量30GB、"
     "国内通话500分钟，办理后次月生效，合约期12个月。请问您需要为您办理吗？"),
    (_B, "5G套餐/Tariff", "套餐变更规则说明", "tariff change rules 套餐变更 次月生效 合约",
     "套餐变更当月申请、次月1日生效；合约期内只能升档不能降档。"
     "融合套餐内的宽带与主卡绑定，变更主套餐时请确认宽带权益是否保留。"),
    (_B, "5G套餐/Tariff", "流量加油包订购", "data add-on booster 流量包 加油包",
     "可为您订购月包：10元5GB、20元15GB、30元30GB，立即生效，当月有效，不自动续订。请确认订购哪一档？"),
    (_B, "宽带/Broadband", "宽带无法上网排障", "broadband outage troubleshooting 断网 光猫 宽带 报修",
     "请您先查看光猫指示灯：PON灯常亮、LOS灯不亮为正常；若LOS灯红灯闪烁，说明光纤信号中断。"
     "请断电重启光猫和路由器，等待3分钟后重试；仍无法上网的，我们为您派发宽带报修工单，装维人员将在4小时内联系您。"),
    (_B, "宽带/Broadband", "宽带网速慢处理", "broadband slow speed wifi 网速慢 测速",
     "请用网线直连电脑访问测速网站测速。有线测速达标而无线慢，多为路由器位置或信道问题，可建议升级WiFi 6路由器；"
     "有线测速也不达标的，为您提交网络质量工单。"),
    (_B, "宽带/Broadband", "宽带新装预约", "broadband install new 新装 预约 千兆",
     "请提供装机地址，系统查询资源后为您预约上门时间。千兆宽带需光猫和千兆路由器，安装费已减免，装维人员上门前会电话联系。"),
    (_B, "配送/Delivery", "配送进度查询", "delivery tracking courier SIM 配送 物流 快递",
     "您的订单已于{发货时间}发出，承运商{快递公司}，运单号{运单号}。新号卡需本人签收并现场核验身份证，"
     "请保持电话畅通；如需改约送货时间，可为您登记。"),
    (_B, "配送/Delivery", "改约送货与拒收说明", "delivery reschedule reject 改约 拒收 退货",
     "可为您改约至未来3天内的上午或下午时段。如收货时不需要，可当场拒收，订单将自动取消，已付费用原路退回。"),
    (_B, "号卡业务/Number", "停机保号办理", "suspend keep number 停机保号 保号费",
     "停机保号期间每月收取保号费5元，期限最长6个月，期间不能拨打电话和使用流量，可正常接收短信。办理需机主本人身份核验。"),
    (_C, "投诉/Complaint", "扣费争议投诉模板", "complaint billing dispute refund 扣费 退费 投诉",
     "【投诉号码】{号码}\n【投诉类型】计费争议\n【投诉内容】客户反映{月份}账单中{业务名称}扣费{金额}元，客户表示未订购。\n"
     "【客户诉求】退还费用并取消业务\n【已做解释】已核查订购记录：{订购渠道/时间}\n【是否首次投诉】{是/否}"),
    (_C, "投诉/Complaint", "网络信号差投诉模板", "complaint network coverage signal 信号 投诉 网络",
     "【投诉号码】{号码}\n【投诉类型】网络质量\n【问题地址】{详细地址（楼层/室内外）}\n"
     "【问题现象】{无信号/通话断续/上网慢}，持续{时长}\n【终端型号】{型号}\n【客户诉求】尽快处理并回复"),
    (_C, "投诉/Complaint", "服务态度投诉模板", "complaint service attitude staff 服务态度 营业厅",
     "【投诉号码】{号码}\n【投诉类型】服务质量\n【发生时间/地点】{时间} {营业厅/热线}\n"
     "【投诉内容】客户反映{工作人员/工号}{具体行为}\n【客户诉求】{道歉/说明}\n【情绪】{平稳/激动}"),
    (_C, "投诉/Complaint", "宽带维修超时投诉模板", "complaint broadband repair overdue 宽带 维修 超时",
     "【投诉号码】{宽带账号或固话}\n【投诉类型】装维时限\n【原工单号】{工单号}\n"
     "【投诉内容】报修后超过{小时}小时无人上门\n【客户诉求】{当天修复/减免月租}"),
    (_C, "投诉/Complaint", "配送延误投诉模板", "complaint delivery delay courier 配送 延误 投诉",
     "【投诉号码】{号码}\n【投诉类型】物流配送\n【订单号】{订单号}\n【投诉内容】承诺{日期}送达，实际未送达/送达后未核验身份\n"
     "【客户诉求】{尽快送达/取消订单}"),
)


# --- Contacts --------------------------------------------------------------------

# reason, business, outcome weights (resolved, order_opened, complaint_opened, opportunity, no_sale), notes
_INBOUND_REASONS = (
    ("查询本月话费", "话费查询", (95, 0, 1, 3, 1), ("已告知余额与本月费用", "")),
    ("话费余额不足提醒后来电咨询", "话费查询", (90, 0, 0, 8, 2), ("已指导掌厅充值", "")),
    ("账单明细有疑问", "账单解释", (80, 0, 12, 4, 4), ("已逐项解释账单", "客户对流量费用有异议")),
    ("充值未到账", "缴费核查", (70, 25, 5, 0, 0), ("已提交缴费核查", "")),
    ("咨询5G套餐", "5G套餐", (35, 30, 0, 25, 10), ("客户考虑中", "已发送套餐资费短信")),
    ("要求变更套餐", "套餐变更", (30, 65, 0, 0, 5), ("次月生效", "")),
    ("流量不够用", "流量加油包", (40, 45, 0, 10, 5), ("已订购加油包", "")),
    ("取消增值业务", "增值业务退订", (85, 10, 5, 0, 0), ("已退订", "")),
    ("宽带无法上网", "宽带报修", (35, 60, 5, 0, 0), ("已派发报修工单", "重启光猫后恢复")),
    ("宽带网速慢", "宽带报修", (55, 35, 5, 5, 0), ("已指导测速", "")),
    ("咨询宽带新装", "宽带新装", (25, 50, 0, 20, 5), ("已预约上门", "")),
    ("查询SIM卡配送进度", "配送查询", (90, 5, 5, 0, 0), ("已告知运单号", "")),
    ("改约送货时间", "配送改约", (90, 10, 0, 0, 0), ("已改约", "")),
    ("办理停机保号", "停机保号", (60, 40, 0, 0, 0), ("已办理", "")),
    ("补换SIM卡", "补换卡", (40, 60, 0, 0, 0), ("已下单，配送上门", "")),
    ("开通国际漫游", "国际漫游", (80, 15, 0, 5, 0), ("已开通", "")),
    ("信号差", "网络投诉", (30, 0, 70, 0, 0), ("已登记投诉", "")),
    ("对扣费有异议要求退费", "计费投诉", (30, 0, 70, 0, 0), ("已登记投诉", "客户情绪激动")),
    ("营业厅服务态度差", "服务投诉", (20, 0, 80, 0, 0), ("已致歉并登记", "")),
)
_OUTBOUND_REASONS = (
    ("5G套餐升级营销外呼", "5G套餐", (5, 20, 0, 30, 45), ("客户有意向", "")),
    ("宽带续约回访", "宽带续约", (20, 40, 0, 20, 20), ("已续约", "")),
    ("投诉处理满意度回访", "满意度回访", (90, 0, 5, 0, 5), ("客户表示满意", "")),
    ("新装宽带回访", "满意度回访", (95, 0, 5, 0, 0), ("", "")),
)
_OUTCOMES = tuple(
    o.value for o in (Outcome.RESOLVED, Outcome.ORDER_OPENED, Outcome.COMPLAINT_OPENED, Outcome.OPPORTUNITY, Outcome.NO_SALE)
)
_RESOLVED, _COMPLAINT_OPENED = Outcome.RESOLVED.value, Outcome.COMPLAINT_OPENED.value
# channel, weight, duration range in seconds, staffed by ("agent", "outbound" or None for self-service)
_CHANNELS = (
    (Channel.HOTLINE.value, 50, (60, 900), "agent"),
    (Channel.IVR.value, 12, (30, 240), None),
    (Channel.APP_HALL.value, 12, (20, 400), None),
    (Channel.WEB_HALL.value, 6, (20, 400), None),
    (Channel.SMS_HALL.value, 5, (5, 120), None),
    (Channel.WALK_IN.value, 8, (300, 1800), "agent"),
    (Channel.OUTBOUND.value, 7, (30, 600), "outbound"),
)
_OUTBOUND = Channel.OUTBOUND.value
_CONTACTS_PER_CUSTOMER = (0, 1, 2, 3, 4, 5)
_CONTACTS_WEIGHTS = (30, 25, 20, 12, 8, 5)


def _cumulative(weights) -> tuple[int, ...]:
    total, out = 0, []
    for w in weights:
        total += w
        out.append(total)
    return tuple(out)


# Cheaper stand-ins for Random.randint/choice/randrange (a million customers draw ~50M numbers).
def _randint(rng: random.Random, a: int, b: int) -> int:
    return a + int(rng.random() * (b - a + 1))


def _randbelow(rng: random.Random, n: int) -> int:
    return int(rng.random() * n)


def _choice(rng: random.Random, seq):
    return seq[int(rng.random() * len(seq))]


def _pick(rng: random.Random, cum: tuple[int, ...]) -> int:
    """Index drawn with the weights whose running totals are ``cum`` (cheaper than rng.choices)."""
    x = rng.random() * cum[-1]
    for i, c in enumerate(cum):
        if x < c:
            return i
    return len(cum) - 1


_CONTACTS_CUM = _cumulative(_CONTACTS_WEIGHTS)


# --- Result ----------------------------------------------------------------------


@dataclass
class DemoLogin:
    username: str
    roles: str
    where: str
    password: str = DEMO_PASSWORD


@dataclass
class SeedResult:
    logins: list[DemoLogin] = field(default_factory=list)
    customers_before: int = 0
    customers_created: int = 0
    subscriptions_created: int = 0
    contacts_created: int = 0
    customer_seconds: float = 0.0
    try_numbers: list[str] = field(default_factory=list)
    api_token: str = ""


# --- Reference data writers --------------------------------------------------------


def _role_groups() -> dict[str, Group]:
    groups = {g.name: g for g in Group.objects.filter(name__in=Role.values)}
    if len(groups) < len(Role):
        # The post_migrate hook normally did this already.
        from .roles import sync_role_groups

        sync_role_groups()
        groups = {g.name: g for g in Group.objects.filter(name__in=Role.values)}
    return groups


def _staff_plan() -> list[dict]:
    """Every demo account: username, name, roles and where they sit."""
    plan: list[dict] = [{"username": "admin", "roles": [Role.ADMIN], "superuser": True}]
    for i in range(1, 7):
        plan.append({"username": f"agent{i}", "roles": [Role.AGENT], "team": (i - 1) // 2})
    for i in range(1, 4):
        plan.append({"username": f"manager{i}", "roles": [Role.MANAGER], "team": i - 1, "leads": i - 1})
    for i in range(1, 3):
        plan.append({"username": f"backoffice{i}", "roles": [Role.BACK_OFFICE]})
    # The outbound team, led by outbound1 (who is told of overdue callbacks).
    plan.append({"username": "outbound1", "roles": [Role.OUTBOUND], "team": 3, "leads": 3})
    plan.append({"username": "outbound2", "roles": [Role.OUTBOUND], "team": 3})
    for i in range(1, 3):
        plan.append({"username": f"delivery{i}", "roles": [Role.DELIVERY_CLERK], "department": "DLV"})
    for i in range(1, 3):
        plan.append({"username": f"accounts{i}", "roles": [Role.ACCOUNT_CLERK], "department": "BILL"})
    plan.append({"username": "supervisor1", "roles": [Role.ACCOUNT_SUPERVISOR], "department": "BILL"})
    # One handler in each department, and each department's head (who gets the SMS notices).
    for i, (code, _name) in enumerate(DEPARTMENTS, start=1):
        plan.append({"username": f"complaints{i}", "roles": [Role.COMPLAINT_HANDLER], "department": code})
    for i, (code, _name) in enumerate(DEPARTMENTS, start=1):
        plan.append({"username": f"head{i}", "roles": [Role.COMPLAINT_HANDLER], "department": code, "heads": code})
    for i in range(1, len(AREAS) + 1):
        plan.append({"username": f"areamgr{i}", "roles": [Role.AREA_MANAGER], "area": i - 1})
    plan.append({"username": "api1", "roles": [Role.API_CLIENT]})
    return plan


@transaction.atomic
def seed_reference(log: Log = print) -> SeedResult:
    """Areas, teams, departments, staff in every role, tariff plans and scripts (idempotent)."""
    from rest_framework.authtoken.models import Token

    result = SeedResult()
    groups = _role_groups()
    password = make_password(DEMO_PASSWORD)  # hashed once: PBKDF2 per user would take seconds
    names = iter(_STAFF_NAMES)

    teams = [Team.objects.get_or_create(name=name)[0] for name in TEAMS]
    departments = {
        code: Department.objects.update_or_create(code=code, defaults={"name": name})[0] for code, name in DEPARTMENTS
    }
    areas = [
        ServiceArea.objects.update_or_create(code=code, defaults={"name": name, "district": district})[0]
        for code, name, district, _streets, _communities in AREAS
    ]

    for number, spec in enumerate(_staff_plan(), start=1):
        username = spec["username"]
        superuser = spec.get("superuser", False)
        user, _created = User.objects.update_or_create(
            username=username,
            defaults={
                "first_name": next(names, username),  # whole Chinese name: get_full_name() reads "李建华"
                "last_name": "",
                "email": f"{username}@demo.servicedesk.example",
                "employee_no": f"TJ{number:04d}",
                "mobile": f"{STAFF_MOBILE_PREFIX}{number:04d}",
                "password": password,
                "is_active": True,
                "is_staff": superuser,
                "is_superuser": superuser,
                "team": teams[spec["team"]] if "team" in spec else None,
                "department": departments[spec["department"]] if "department" in spec else None,
            },
        )
        user.groups.set([groups[str(role)] for role in spec["roles"]])
        where = ""
        if "leads" in spec:
            team = teams[spec["leads"]]
            if team.lead_id != user.pk:
                team.lead = user
                team.save(update_fields=["lead"])
            where = f"{team.name} lead"
        elif "team" in spec:
            where = teams[spec["team"]].name
        if "heads" in spec:
            department = departments[spec["heads"]]
            if department.head_id != user.pk:
                department.head = user
                department.save(update_fields=["head"])
            where = f"{department.name} head"
        elif "department" in spec:
            where = departments[spec["department"]].name
        if "area" in spec:
            area = areas[spec["area"]]
            if area.manager_id != user.pk:
                area.manager = user
                area.save(update_fields=["manager"])
            where = f"{area.code} {area.name}"
        if username == "api1":
            result.api_token = Token.objects.get_or_create(user=user)[0].key
            where = "API token below"
        labels = ", ".join(f"{Role(str(r)).value}" for r in spec["roles"]) + (" + superuser" if superuser else "")
        result.logins.append(DemoLogin(username, labels, where))

    for code, name, fee, _kind, _weight, _since in TARIFF_PLANS:
        TariffPlan.objects.update_or_create(code=code, defaults={"name": name, "monthly_fee": Decimal(fee)})

    for kind, category, title, keywords, body in SCRIPTS:
        # Not update_or_create: Script.save() fills search_text, which save(update_fields=...) would leave stale.
        script = Script.objects.filter(kind=kind, title=title).first() or Script(kind=kind, title=title)
        if script.pk is None or (script.category, script.keywords, script.body) != (category, keywords, body):
            script.category, script.keywords, script.body = category, keywords, body
            script.save()
    log(f"Reference data: {len(areas)} areas, {len(teams)} teams, {len(departments)} departments, "
        f"{len(result.logins)} demo logins, {len(TARIFF_PLANS)} tariff plans, {len(SCRIPTS)} scripts.")
    return result


# --- Other apps' demo data ------------------------------------------------------------


def app_demo_modules() -> list:
    """The ``demo`` module of each domain app that has one, with ``seed(log=)`` and ``reset(log=)``.

    Found through the app registry, as Django's admin finds ``admin`` modules, so the
    core stays free of imports of the apps that depend on it.
    """
    from django.apps import apps

    modules = []
    for config in apps.get_app_configs():
        if config.name == "servicedesk" or not config.name.isidentifier():
            continue
        try:
            modules.append(importlib.import_module(f"{config.name}.demo"))
        except ModuleNotFoundError as exc:
            if exc.name != f"{config.name}.demo":
                raise
    return modules


# --- Customers ----------------------------------------------------------------------


def reset_customers(log: Log = print) -> None:
    """Delete every customer with subscriptions and contacts, and what other apps hang on them.

    Other apps' rows that point at a customer, subscription or contact go first
    through the ORM (so their own cascades run); ours go with one DELETE each
    (the ORM's delete would load millions of contacts to cascade to their links).
    """
    own = {Customer, Subscription, Contact, ContactLink, InboundSms}
    with transaction.atomic():
        # Downstream apps first: their rows point at the upstream ones (delivery at orders).
        for module in reversed(app_demo_modules()):
            module.reset(log=log)
        # The SMS customers sent go with them (their ids would make the next seed's SMS no-ops).
        InboundSms.objects.all()._raw_delete(connection.alias)
        for model in (Contact, Subscription, Customer):
            # Hidden relations too (related_name="+"), which _meta.related_objects leaves out.
            reverse = [f for f in model._meta.get_fields(include_hidden=True) if f.auto_created and not f.concrete]
            for rel in reverse:
                other = rel.related_model
                if other in own:
                    continue
                if rel.many_to_many:
                    rel.through._base_manager.all().delete()
                elif rel.on_delete is models.SET_NULL:
                    other._base_manager.filter(**{f"{rel.field.name}__isnull": False}).update(**{rel.field.name: None})
                elif rel.on_delete is not models.DO_NOTHING:
                    other._base_manager.filter(**{f"{rel.field.name}__isnull": False}).delete()
        counts = []
        for model in (ContactLink, Contact, Subscription, Customer):
            counts.append(model._base_manager.all()._raw_delete(connection.alias))
    log(f"Reset: deleted {counts[3]:,} customers, {counts[2]:,} subscriptions, {counts[1]:,} contacts.")


def _reset_customer_sequence() -> None:
    statements = connection.ops.sequence_reset_sql(no_style(), [Customer])
    if statements:
        with connection.cursor() as cursor:
            for sql in statements:
                cursor.execute(sql)


# The rows the generator produces, field by field (ids of subscriptions and contacts come from the database).
CUSTOMER_COLUMNS = ("id", "name", "id_type", "id_number", "address", "vip_tier", "area", "created_at")
SUBSCRIPTION_COLUMNS = ("customer", "service_number", "tariff_plan", "status", "activated_on", "monthly_spend")
CONTACT_COLUMNS = (
    "customer", "channel", "service_number", "reason", "business", "outcome", "notes", "agent", "started_at", "ended_at",
)
_ACTIVE, _SUSPENDED, _CLOSED = (s.value for s in Subscription.Status)
_RESIDENT_ID = IdType.RESIDENT_ID.value


class _RowWriter:
    """INSERTs plain row tuples into one model's table, without building model instances.

    ``bulk_create`` spends most of a million-customer run preparing each value of
    each instance; here values are adapted per column type once, the way the
    backend's own operations would. Concrete fields the rows leave out get their
    default (evaluated once per batch), so a field added to the model later with
    a default does not break the seeder. No signals are sent (nor by bulk_create).
    """

    def __init__(self, model: type[models.Model], names: tuple[str, ...]):
        opts = model._meta
        self.fields = [opts.get_field(name) for name in names]
        given = {f.name for f in self.fields}
        self.defaulted = [
            f
            for f in opts.concrete_fields
            if f.name not in given and not (f.primary_key and f.get_internal_type().endswith("AutoField"))
        ]
        quote = connection.ops.quote_name
        columns = ", ".join(quote(f.column) for f in self.fields + self.defaulted)
        self.width = len(self.fields) + len(self.defaulted)
        self.row_sql = "(" + ", ".join(["%s"] * self.width) + ")"
        self.head = f"INSERT INTO {quote(opts.db_table)} ({columns}) VALUES "
        self.copy_sql = f"COPY {quote(opts.db_table)} ({columns}) FROM STDIN"
        self.adapters = [(i, a) for i, f in enumerate(self.fields) if (a := _adapter(f)) is not None]

    def _defaults(self) -> tuple:
        values = []
        for f in self.defaulted:
            value = timezone.now() if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False) else f.get_default()
            values.append(f.get_db_prep_save(value, connection))
        return tuple(values)

    def insert(self, rows: list) -> None:
        if not rows:
            return
        defaults = self._defaults()
        if self.adapters:
            adapted = []
            for row in rows:
                row = list(row)
                for i, adapt in self.adapters:
                    if row[i] is not None:
                        row[i] = adapt(row[i])
                adapted.append(tuple(row) + defaults)
        else:
            adapted = [tuple(row) + defaults for row in rows]
        with connection.cursor() as cursor:
            if connection.vendor == "sqlite":
                # One prepared statement run per row: SQLite's fastest path.
                cursor.executemany(self.head + self.row_sql, adapted)
            elif connection.vendor == "postgresql" and hasattr(cursor.cursor, "copy_expert"):
                # psycopg2: COPY takes half the time of multi-row INSERTs.
                cursor.cursor.copy_expert(self.copy_sql, io.StringIO("".join(_copy_line(row) for row in adapted)))
            elif connection.vendor == "postgresql" and hasattr(cursor.cursor, "copy"):
                with cursor.cursor.copy(self.copy_sql) as copy:  # psycopg 3
                    for row in adapted:
                        copy.write_row(row)
            else:
                # Multi-row VALUES: one round trip per chunk (executemany is one per row on psycopg).
                chunk = max(1, min(1000, 30_000 // self.width))
                for i in range(0, len(adapted), chunk):
                    part = adapted[i : i + chunk]
                    cursor.execute(self.head + ", ".join([self.row_sql] * len(part)), [v for row in part for v in row])


def _copy_value(value) -> str:
    if value is None:
        return "\\N"
    text = str(value)
    if "\\" in text or "\t" in text or "\n" in text or "\r" in text:
        text = text.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")
    return text


def _copy_line(row: tuple) -> str:
    """One line of PostgreSQL's COPY text format."""
    return "\t".join(map(_copy_value, row)) + "\n"


def _adapter(field: models.Field):
    """How a Python value of ``field`` goes to the database (None: as it is)."""
    kind = field.get_internal_type()
    if connection.vendor == "postgresql":
        return None  # psycopg adapts str, int, Decimal, date and aware datetimes itself
    if connection.vendor == "sqlite":
        if kind == "DateTimeField":
            # What Django stores on SQLite: naive UTC, "YYYY-MM-DD HH:MM:SS[.ffffff]".
            return lambda v: str(v.astimezone(dt_timezone.utc).replace(tzinfo=None))
        if kind == "DateField":
            return date.isoformat
        if kind == "DecimalField":
            return str
        return None
    return lambda v: field.get_db_prep_save(v, connection)


def _money(cents: int) -> Decimal:
    return Decimal(f"{cents // 100}.{cents % 100:02d}")


class ServiceNumbers:
    """The numbers of customer ``pk``: up to three mobiles (slots 0-2) and one fixed line.

    Distinct (pk, slot) pairs give distinct numbers (bijections of the key), all
    valid as they stand for ``normalize_service_number``; customers
    1..SHOWCASE_CUSTOMERS have 138 0000 00NN first.
    """

    def __init__(self, seed: int):
        self._mobile = _Scatter(_MOBILE_SPACE, 387_420_489, seed * 7_919)
        self._fixed = _Scatter(_FIXED_SPACE, 31_415_927, seed * 104_729)

    def mobile(self, pk: int, slot: int) -> str:
        if slot == 0 and pk <= SHOWCASE_CUSTOMERS:
            return f"{SHOWCASE_PREFIX}{pk:08d}"
        return self.mobile_for_value(self._mobile(pk * 3 + slot))

    @staticmethod
    def mobile_for_value(v: int) -> str:
        return f"{_GENERAL_PREFIXES[v // 10**8]}{v % 10**8:08d}"

    def fixed(self, pk: int) -> str:
        return f"{FIXED_AREA_CODE}{20_000_000 + self._fixed(pk)}"


class _CustomerFactory:
    """Everything about one customer from (rng, pk); no queries."""

    def __init__(self, seed: int, areas: list[ServiceArea], plans: dict[str, TariffPlan], agents: list[int], outbound: list[int]):
        self.now = timezone.now()
        self.today = timezone.localdate()
        self.numbers = ServiceNumbers(seed)
        birth_first, birth_last = date(1950, 1, 1), date(2005, 12, 31)
        self.birth_first = birth_first.toordinal()
        self.birth_days = birth_last.toordinal() - self.birth_first + 1
        self.identity = _Scatter(self.birth_days * 999, 2_718_281, seed * 1_299_709)
        self.areas = areas
        self.area_cum = _cumulative(_AREA_WEIGHTS[: len(areas)])
        mobile_plans = [(plans[p[0]], p[4], p[5]) for p in TARIFF_PLANS if p[3] == "mobile"]
        fixed_plans = [(plans[p[0]], p[4], p[5]) for p in TARIFF_PLANS if p[3] == "fixed"]
        self.mobile_plans = [(plan, since.toordinal(), int(plan.monthly_fee * 100)) for plan, _w, since in mobile_plans]
        self.mobile_cum = _cumulative([w for _p, w, _s in mobile_plans])
        self.fixed_plans = [(plan, since.toordinal(), int(plan.monthly_fee * 100)) for plan, _w, since in fixed_plans]
        self.fixed_cum = _cumulative([w for _p, w, _s in fixed_plans])
        self.agents, self.outbound = agents, outbound
        self.channel_cum = _cumulative([c[1] for c in _CHANNELS])
        self.inbound_cum = _cumulative([1] * len(_INBOUND_REASONS))
        self.outcome_cums = {r[0]: _cumulative(r[2]) for r in _INBOUND_REASONS + _OUTBOUND_REASONS}
        # Contacts fall between 08:00 and 22:00 Beijing time (UTC+8, no DST) on one of the last 180 days.
        local_midnight = datetime.combine(self.today, datetime.min.time(), tzinfo=dt_timezone(timedelta(hours=8)))
        self.day0_utc = local_midnight.astimezone(dt_timezone.utc)
        self.last_activation = self.today.toordinal() - 7

    # Identity -------------------------------------------------------------------
    def resident_id(self, rng: random.Random, pk: int, district: str) -> tuple[str, bool, date]:
        v = self.identity(pk)
        birth = date.fromordinal(self.birth_first + v // 999)
        sequence = v % 999 + 1  # 001..999; odd for men
        region = DISTRICT_CODES[district] if rng.random() < 0.75 else _choice(rng, _MIGRANT_REGIONS)
        first17 = f"{region}{birth:%Y%m%d}{sequence:03d}"
        return first17 + resident_id_check_digit(first17), sequence % 2 == 1, birth

    @staticmethod
    def name(rng: random.Random, male: bool) -> str:
        chars = _MALE if male else _FEMALE
        given = _choice(rng, chars) if rng.random() < 0.35 else _choice(rng, chars) + _choice(rng, chars)
        return _choice(rng, _SURNAMES) + given

    def address(self, rng: random.Random, spec) -> str:
        _code, _name, district, streets, communities = spec
        return (
            f"天津市{district}{_choice(rng, streets)}{_randint(rng, 1, 399)}号{_choice(rng, communities)}"
            f"{_randint(rng, 1, 24)}号楼{_randint(rng, 1, 6)}门{_randint(rng, 1, 18)}{_randint(rng, 1, 4):02d}"
        )

    # Whole customer ------------------------------------------------------------------
    def build(self, rng: random.Random, pk: int) -> tuple[tuple, list[list]]:
        """One customer row and its subscription rows (``CUSTOMER_COLUMNS``, ``SUBSCRIPTION_COLUMNS``)."""
        area_index = _pick(rng, self.area_cum)
        area = self.areas[area_index]
        spec = AREAS[area_index]
        id_number, male, birth = self.resident_id(rng, pk, spec[2])
        n_subs = _pick(rng, (55, 85, 100)) + 1
        fixed_slot = 0
        if n_subs > 1 and rng.random() < 0.35:
            fixed_slot = _randint(rng, 1, n_subs - 1)
        subscriptions = []
        total_cents = 0
        first_activation = None
        # Nobody opens a line before turning 16.
        adult = birth.toordinal() + 16 * 366
        for slot in range(n_subs):
            if slot == fixed_slot and slot > 0:
                number = self.numbers.fixed(pk)
                plan, since, fee = self.fixed_plans[_pick(rng, self.fixed_cum)]
            else:
                number = self.numbers.mobile(pk, slot)
                plan, since, fee = self.mobile_plans[_pick(rng, self.mobile_cum)]
            lo = max(since, adult)
            activated = date.fromordinal(_randint(rng, lo, self.last_activation)) if lo < self.last_activation else self.today
            roll = rng.random()
            if slot == 0 or roll < 0.92:
                status = _ACTIVE
                cents = fee * _randint(rng, 85, 140) // 100
                if rng.random() < 0.2:
                    cents += _randint(rng, 500, 8000)  # over-bundle data, calls, add-ons
            elif roll < 0.97:
                status, cents = _SUSPENDED, 500  # keep-number fee
            else:
                status, cents = _CLOSED, 0
            total_cents += cents
            first_activation = activated if first_activation is None else min(first_activation, activated)
            subscriptions.append([pk, number, plan.pk, status, activated, _money(cents)])
        created = datetime.combine(first_activation, datetime.min.time(), tzinfo=dt_timezone.utc) + timedelta(
            seconds=_randint(rng, 0, 12 * 3600)
        )
        customer = (
            pk, self.name(rng, male), _RESIDENT_ID, id_number, self.address(rng, spec),
            vip_tier_for_spend(_money(total_cents)), area.pk, min(created, self.now),
        )
        return customer, subscriptions

    def contacts(self, rng: random.Random, pk: int, subscriptions: list[list]) -> list[tuple]:
        """Contact rows (``CONTACT_COLUMNS``) of one customer."""
        count = _CONTACTS_PER_CUSTOMER[_pick(rng, _CONTACTS_CUM)]
        contacts = []
        for _ in range(count):
            channel, _w, (short, long), staffed = _CHANNELS[_pick(rng, self.channel_cum)]
            if channel == _OUTBOUND:
                reason, business, _weights, notes = _choice(rng, _OUTBOUND_REASONS)
            else:
                reason, business, _weights, notes = _INBOUND_REASONS[_pick(rng, self.inbound_cum)]
            outcome = _OUTCOMES[_pick(rng, self.outcome_cums[reason])]
            if staffed is None and outcome == _COMPLAINT_OPENED:
                outcome = _RESOLVED  # self-service channels do not take complaints
            agent = None
            if staffed == "agent" and self.agents:
                agent = _choice(rng, self.agents)
            elif staffed == "outbound" and self.outbound:
                agent = _choice(rng, self.outbound)
            days_ago = _randint(rng, 1, CONTACT_WINDOW_DAYS)
            started = self.day0_utc - timedelta(days=days_ago) + timedelta(seconds=_randint(rng, 8 * 3600, 22 * 3600 - 1))
            ended = started + timedelta(seconds=_randint(rng, short, long))
            number = subscriptions[0 if rng.random() < 0.7 else _randbelow(rng, len(subscriptions))][1]
            notes_text = _choice(rng, notes) if staffed else ""
            contacts.append((pk, channel, number, reason, business, outcome, notes_text, agent, started, ended))
        return contacts


def _existing_numbers(numbers: list[str]) -> set[str]:
    found: set[str] = set()
    chunk = 900 if connection.vendor == "sqlite" else 10_000
    for i in range(0, len(numbers), chunk):
        found.update(
            Subscription.objects.filter(service_number__in=numbers[i : i + chunk]).values_list("service_number", flat=True)
        )
    return found


def _replace_taken(subscriptions: list[list], check_db: bool) -> int:
    """Give a fresh number to any subscription whose number is already taken (only possible on a
    table that had rows before this run: within a run numbers are unique by construction)."""
    if not check_db:
        return 0
    taken = _existing_numbers([s[1] for s in subscriptions])
    if not taken:
        return 0
    in_batch = {s[1] for s in subscriptions}
    replaced = 0
    for s in subscriptions:
        if s[1] not in taken:
            continue
        v = int(s[1]) % _MOBILE_SPACE
        while True:
            v = (v + 1) % _MOBILE_SPACE
            candidate = ServiceNumbers.mobile_for_value(v)
            if candidate not in in_batch and not _existing_numbers([candidate]):
                break
        in_batch.add(candidate)
        s[1] = candidate
        replaced += 1
    return replaced


def seed_customers(
    target: int,
    *,
    seed: int = DEFAULT_SEED,
    batch_size: int = DEFAULT_BATCH,
    log: Log = print,
    result: SeedResult | None = None,
) -> SeedResult:
    """Top the customer table up to ``target`` rows (never deletes; see ``reset_customers``)."""
    result = result or SeedResult()
    existing = Customer.objects.count()
    result.customers_before = existing
    missing = max(0, target - existing)
    if not missing:
        log(f"Customers: {existing:,} already, {target:,} asked for; none generated.")
        return result
    areas = list(ServiceArea.objects.filter(code__in=[a[0] for a in AREAS]).order_by("code"))
    areas.sort(key=lambda a: [spec[0] for spec in AREAS].index(a.code))
    plans = {p.code: p for p in TariffPlan.objects.filter(code__in=[p[0] for p in TARIFF_PLANS])}
    if len(areas) != len(AREAS) or len(plans) != len(TARIFF_PLANS):
        raise RuntimeError("Reference data missing: run seed_reference() first.")
    agents = list(User.objects.filter(groups__name=Role.AGENT).order_by("pk").values_list("pk", flat=True))
    outbound = list(User.objects.filter(groups__name=Role.OUTBOUND).order_by("pk").values_list("pk", flat=True))
    factory = _CustomerFactory(seed, areas, plans, agents, outbound)
    customer_writer = _RowWriter(Customer, CUSTOMER_COLUMNS)
    subscription_writer = _RowWriter(Subscription, SUBSCRIPTION_COLUMNS)
    contact_writer = _RowWriter(Contact, CONTACT_COLUMNS)
    first_pk = (Customer.objects.aggregate(m=models.Max("pk"))["m"] or 0) + 1
    check_db = Subscription.objects.exists()  # an empty table cannot collide with numbers unique by construction
    rng = random.Random(f"{seed}:{first_pk}")
    started = time.perf_counter()
    last_pk = first_pk + missing - 1
    done = 0
    replaced = 0
    verbose = missing > batch_size
    log(f"Customers: {existing:,} already; generating {missing:,} (ids {first_pk:,}..{last_pk:,}), batches of {batch_size:,}.")
    for batch_start in range(first_pk, last_pk + 1, batch_size):
        batch_end = min(batch_start + batch_size, last_pk + 1)
        customers, subscriptions, per_customer = [], [], []
        for pk in range(batch_start, batch_end):
            customer, subs = factory.build(rng, pk)
            customers.append(customer)
            subscriptions.extend(subs)
            per_customer.append((pk, subs))
        with transaction.atomic():
            replaced += _replace_taken(subscriptions, check_db)
            contacts = []
            for pk, subs in per_customer:
                contacts.extend(factory.contacts(rng, pk, subs))
            customer_writer.insert(customers)
            subscription_writer.insert(subscriptions)
            contact_writer.insert(contacts)
        done += len(customers)
        result.customers_created += len(customers)
        result.subscriptions_created += len(subscriptions)
        result.contacts_created += len(contacts)
        if settings.DEBUG:
            reset_queries()  # DEBUG keeps every query's SQL: megabytes per bulk insert
        if verbose:
            elapsed = time.perf_counter() - started
            log(f"  {done:>12,} / {missing:,} customers  {elapsed:8.1f} s  {done / elapsed:8,.0f}/s")
    _reset_customer_sequence()
    result.customer_seconds = time.perf_counter() - started
    log(
        f"Customers: created {result.customers_created:,} customers, {result.subscriptions_created:,} subscriptions, "
        f"{result.contacts_created:,} contacts in {result.customer_seconds:.1f} s"
        + (f" ({replaced} numbers re-drawn: already taken)" if replaced else "")
        + "."
    )
    return result


def showcase_numbers(limit: int = 2) -> list[str]:
    """Numbers to try in the search box: the showcase ones if present, else any."""
    showcase = list(
        Subscription.objects.filter(service_number__startswith=f"{SHOWCASE_PREFIX}000000")
        .order_by("service_number")
        .values_list("service_number", flat=True)[:limit]
    )
    if len(showcase) >= limit:
        return showcase
    return list(Subscription.objects.order_by("customer_id", "id").values_list("service_number", flat=True)[:limit])


def seed_demo(
    customers: int = 1000,
    *,
    seed: int = DEFAULT_SEED,
    reset: bool = False,
    batch_size: int = DEFAULT_BATCH,
    log: Log = print,
) -> SeedResult:
    """The whole demo: reference data, then customers up to ``customers``."""
    result = seed_reference(log=log)
    if reset:
        reset_customers(log=log)
    seed_customers(customers, seed=seed, batch_size=batch_size, log=log, result=result)
    # Modules that summarise the others' data (the KPI rollups) seed last, after the SMS hall's contacts.
    modules = app_demo_modules()
    for module in [m for m in modules if not getattr(m, "SEED_LAST", False)]:
        module.seed(log=log)
    seed_sms_hall(log=log)
    for module in [m for m in modules if getattr(m, "SEED_LAST", False)]:
        module.seed(log=log)
    result.try_numbers = showcase_numbers()
    return result


# SMS the showcase customers sent to the hall's number: one answered by a command, one the hall
# passes to an agent (the inbox), one asking for help. Message ids make a second run a no-op.
DEMO_INBOUND_SMS = [
    ("demo-sms-1", 0, "订单", 90),
    ("demo-sms-2", 1, "家里宽带晚上老是掉线，麻烦尽快安排人看一下", 45),
    ("demo-sms-3", 0, "HELP", 20),
]


def seed_sms_hall(log: Log = print) -> int:
    """A few inbound SMS answered by the SMS hall (``servicedesk.sms_hall``), as the gateway hands them over."""
    from .sms_hall import sms_inbound_receive

    numbers = showcase_numbers(limit=2)
    if not numbers:
        return 0
    now = timezone.now()
    new = 0
    for message_id, sender, text, minutes_ago in DEMO_INBOUND_SMS:
        _inbound, created = sms_inbound_receive(
            message_id=message_id, from_number=numbers[sender % len(numbers)], text=text,
            received_at=now - timedelta(minutes=minutes_ago),
        )
        new += created
    log(f"SMS hall: {new} inbound SMS answered ({len(DEMO_INBOUND_SMS) - new} already there).")
    return new
