//! The kinds of file the city takes. Each is a [`Schema`] with a version; the store knows how
//! to apply each kind's rows.

use super::schema::{Column, ColumnType, Lookup, Owner, Schema};
use crate::deed::{DESCRIPTION_CHARS_MAX, PLACE_CHARS_MAX};

/// Partner deeds (合作单位事迹): verified deeds a partner organisation submits, one per row,
/// each under the row's own key. Replaces the first CSV format (`key,citizen_id,…`), whose
/// header still maps onto this schema.
pub const PARTNER_DEEDS: Schema = Schema {
    kind: "partner-deeds",
    owner: Owner::Partner,
    version: 1,
    title_zh: "合作单位事迹导入",
    title_en: "Partner deeds",
    columns: &[
        Column {
            name: "key",
            title_zh: "记录编号",
            aliases: &["编号", "流水号", "记录号"],
            kind: ColumnType::Key,
            required: true,
            unique: true,
            personal: false,
            description:
                "Your own unique number for the record; a file sent again creates nothing twice",
        },
        Column {
            name: "resident_id_number",
            title_zh: "身份证号",
            aliases: &["身份证号码", "公民身份号码", "身份证", "id_number"],
            kind: ColumnType::IdNumber,
            required: false,
            unique: false,
            personal: true,
            description:
                "The resident's 18-character ID number (enrolled residents only); or citizen_id",
        },
        Column {
            name: "citizen_id",
            title_zh: "居民编号",
            aliases: &["居民ID"],
            kind: ColumnType::Id,
            required: false,
            unique: false,
            personal: false,
            description: "The resident's id in this system, instead of the ID number",
        },
        Column {
            name: "standard",
            title_zh: "积分标准",
            aliases: &["标准", "标准代码", "积分标准代码"],
            kind: ColumnType::Lookup(Lookup::Standard),
            required: true,
            unique: false,
            personal: false,
            description: "The code of a current point standard (see /standards)",
        },
        Column {
            name: "deed_date",
            title_zh: "事迹日期",
            aliases: &["日期", "发生日期"],
            kind: ColumnType::Date,
            required: true,
            unique: false,
            personal: false,
            description: "The day of the deed, yyyy-mm-dd, not in the future",
        },
        Column {
            name: "place",
            title_zh: "地点",
            aliases: &["地址", "事迹地点"],
            kind: ColumnType::Text {
                max_chars: PLACE_CHARS_MAX,
            },
            required: true,
            unique: false,
            personal: false,
            description: "Where it happened",
        },
        Column {
            name: "description",
            title_zh: "事迹描述",
            aliases: &["描述", "事迹", "内容"],
            kind: ColumnType::Text {
                max_chars: DESCRIPTION_CHARS_MAX,
            },
            required: true,
            unique: false,
            personal: false,
            description: "What was done",
        },
        Column {
            name: "points",
            title_zh: "积分",
            aliases: &["分值", "积分值"],
            kind: ColumnType::Integer { min: 1, max: 1_000 },
            required: false,
            unique: false,
            personal: false,
            description:
                "Points within the standard's range; empty for a standard with fixed points",
        },
        Column {
            name: "village",
            title_zh: "村社区代码",
            aliases: &["村社区", "村（社区）代码", "村代码"],
            kind: ColumnType::Lookup(Lookup::Region),
            required: false,
            unique: false,
            personal: false,
            description: "Optional: the resident's village code, checked against their record",
        },
    ],
    one_of: &[&["resident_id_number", "citizen_id"]],
    rows_max: 5_000,
    bytes_max: 10 * 1024 * 1024,
};

/// The honours a green card recognises: code and Chinese name (as `code::green_cards`).
pub const HONOURS: &[(&str, &str)] = &[
    ("moral-model", "道德模范"),
    ("yuyao-good-person", "余姚好人"),
    ("ningbo-good-person", "宁波好人"),
    ("brave-deed", "见义勇为"),
];

/// The city's lists of recognised good people (a town's 余姚好人 of the year, the moral
/// models): each row issues a green card to an enrolled resident, unless they already hold an
/// active card of that honour (then the row is unchanged). Sent by the city's admins.
pub const GREEN_CARD_HONOURS: Schema = Schema {
    kind: "green-card-honours",
    owner: Owner::City,
    version: 1,
    title_zh: "道德绿卡荣誉名单导入",
    title_en: "Green-card honour list",
    columns: &[
        Column {
            name: "resident_id_number",
            title_zh: "身份证号",
            aliases: &["身份证号码", "公民身份号码", "身份证", "id_number"],
            kind: ColumnType::IdNumber,
            required: true,
            unique: true,
            personal: true,
            description:
                "The recognised resident's 18-character ID number (enrolled residents only)",
        },
        Column {
            name: "honour",
            title_zh: "荣誉",
            aliases: &["荣誉称号", "称号", "荣誉类别"],
            kind: ColumnType::Enum(HONOURS),
            required: true,
            unique: false,
            personal: false,
            description: "The honour, as the drop-down names it (or its code)",
        },
        Column {
            name: "citation",
            title_zh: "事迹简介",
            aliases: &["事迹", "简介", "主要事迹"],
            kind: ColumnType::Text { max_chars: 500 },
            required: true,
            unique: false,
            personal: false,
            description: "Why the resident is recognised, as the card's record will say",
        },
        Column {
            name: "valid_until",
            title_zh: "有效期至",
            aliases: &["有效期", "截止日期"],
            kind: ColumnType::Date,
            required: true,
            unique: false,
            personal: false,
            description: "The card's last day, yyyy-mm-dd, after today",
        },
    ],
    one_of: &[],
    rows_max: 10_000,
    bytes_max: 10 * 1024 * 1024,
};

/// A loan's state in a bank's monthly loan book: code and the label its clerks pick.
pub const LOAN_STATES: &[(&str, &str)] = &[
    ("disbursed", "已放款"),
    ("repaid", "已还清"),
    ("closed", "已结清"),
];

/// A bank's monthly loan book (道德信用贷月度台账): per loan it approved through a moral credit
/// report, the month, the loan's state and its outstanding balance at the month's end. Only a
/// partner of kind `bank` may send it; a loan must be one of its recorded approvals. A month
/// sent again replaces that month's figures (`docs/credit.md`).
pub const BANK_LOANS: Schema = Schema {
    kind: "bank-loans",
    owner: Owner::Partner,
    version: 1,
    title_zh: "道德信用贷月度台账导入",
    title_en: "Moral credit loan book (monthly)",
    columns: &[
        Column {
            name: "loan_ref",
            title_zh: "贷款编号",
            aliases: &["借据号", "贷款号", "合同号"],
            kind: ColumnType::Text { max_chars: 40 },
            required: true,
            unique: false,
            personal: false,
            description: "The bank's own loan reference, as in its approval",
        },
        Column {
            name: "month",
            title_zh: "月份",
            aliases: &["统计月份", "月度"],
            kind: ColumnType::Text { max_chars: 7 },
            required: true,
            unique: false,
            personal: false,
            description: "The month the figures are for, as 2026-11",
        },
        Column {
            name: "state",
            title_zh: "贷款状态",
            aliases: &["状态"],
            kind: ColumnType::Enum(LOAN_STATES),
            required: true,
            unique: false,
            personal: false,
            description: "disbursed, repaid or closed",
        },
        Column {
            name: "outstanding_yuan",
            title_zh: "贷款余额（元）",
            aliases: &["余额", "贷款余额"],
            kind: ColumnType::Integer {
                min: 0,
                max: 5_000_000,
            },
            required: true,
            unique: false,
            personal: false,
            description: "The balance outstanding at the month's end, whole yuan (0 once repaid)",
        },
    ],
    one_of: &[],
    rows_max: 100_000,
    bytes_max: 20 * 1024 * 1024,
};

/// Where an expert works, as the matching weighs it (a local expert is closer).
pub const EXPERT_AREAS: &[(&str, &str)] = &[
    ("yuyao", "余姚本地"),
    ("ningbo", "宁波市"),
    ("province", "浙江省内"),
    ("elsewhere", "省外"),
];

/// How readily an expert takes introductions.
pub const EXPERT_AVAILABILITY: &[(&str, &str)] = &[
    ("available", "可接洽"),
    ("limited", "时间有限"),
    ("unavailable", "暂不接洽"),
];

const fn text(
    name: &'static str,
    title_zh: &'static str,
    aliases: &'static [&'static str],
    max_chars: usize,
    description: &'static str,
) -> Column {
    Column {
        name,
        title_zh,
        aliases,
        kind: ColumnType::Text { max_chars },
        required: true,
        unique: false,
        personal: false,
        description,
    }
}

/// The technology supermarket's expert pool (专家库), as the office keeps it: one expert a row,
/// by the office's own number. A number seen before updates that profile, unless the expert
/// has claimed it as a resident (then the row is unchanged: their own edits stand). Contacts
/// are sealed and shown only once an introduction is accepted (`docs/market.md`).
pub const MARKET_EXPERTS: Schema = Schema {
    kind: "market-experts",
    owner: Owner::City,
    version: 1,
    title_zh: "科技超市专家库导入",
    title_en: "Technology supermarket expert pool",
    columns: &[
        Column {
            unique: true,
            ..text("code", "专家编号", &["编号", "专家号"], 12, "The office's own number for the expert, e.g. E000123; a number sent again updates that profile")
        },
        text("name", "姓名", &["专家姓名"], 20, "The expert's name as they publish it"),
        text("title", "职称", &["技术职称", "职务"], 20, "e.g. 教授, 高级工程师"),
        text("institution", "工作单位", &["单位", "所在单位"], 60, "University, institute or company"),
        Column {
            kind: ColumnType::Enum(crate::market::codes::DISCIPLINE_CHOICES),
            ..text("discipline", "学科", &["学科代码", "学科分类"], 0, "GB/T 13745-2009 subject (code or name)")
        },
        text("industries", "服务行业", &["行业代码", "行业"], 40, "GB/T 4754-2017 division codes the expert serves, separated by spaces or 、"),
        text("keywords", "研究方向关键词", &["关键词", "研究方向"], 240, "Up to 12 keywords, separated by 、 or commas"),
        text("summary", "专家简介", &["简介", "擅长领域"], 500, "What the expert can help enterprises with"),
        Column {
            kind: ColumnType::Enum(EXPERT_AREAS),
            ..text("area", "所在地区", &["地区"], 0, "yuyao, ningbo, province or elsewhere")
        },
        Column {
            kind: ColumnType::Enum(EXPERT_AVAILABILITY),
            ..text("availability", "接洽状态", &["是否可接洽"], 0, "available, limited or unavailable")
        },
        Column {
            personal: true,
            ..text("phone", "手机号", &["手机", "联系电话"], 11, "Mainland mobile, shown only to an enterprise whose introduction the expert accepted")
        },
        Column {
            personal: true,
            ..text("email", "邮箱", &["电子邮箱", "email"], 80, "Shown only after an accepted introduction")
        },
        Column {
            kind: ColumnType::Date,
            ..text("consent_on", "同意入库日期", &["同意日期", "授权日期"], 0, "The day the expert agreed in writing to be in the pool")
        },
    ],
    one_of: &[],
    rows_max: 50_000,
    bytes_max: 30 * 1024 * 1024,
};

/// Every kind, newest version of each.
pub const KINDS: &[&Schema] = &[
    &PARTNER_DEEDS,
    &GREEN_CARD_HONOURS,
    &BANK_LOANS,
    &MARKET_EXPERTS,
];

/// The kind named `kind` (as in URLs), newest version.
pub fn kind(kind: &str) -> Option<&'static Schema> {
    KINDS.iter().copied().find(|s| s.kind == kind)
}
