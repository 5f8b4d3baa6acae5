//! The code lists a demand, a profile and an achievement are filed under: industries by
//! GB/T 4754-2017 (国民经济行业分类, its two-digit divisions) and disciplines by GB/T 13745-2009
//! (学科分类与代码, its three-digit first-level subjects). Only the divisions and subjects a
//! county-level market meets are listed; a code outside the list is refused by name.

use crate::FieldError;

/// A code with its Chinese and English names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Code {
    pub code: &'static str,
    pub zh: &'static str,
    pub en: &'static str,
}

const fn c(code: &'static str, zh: &'static str, en: &'static str) -> Code {
    Code { code, zh, en }
}

/// GB/T 4754-2017 divisions (门类 A–Q, two digits).
pub const INDUSTRIES: &[Code] = &INDUSTRY_CODES;
/// The industries as a spreadsheet's drop-down lists them (code, Chinese name).
pub const INDUSTRY_CHOICES: &[(&str, &str)] = &pairs(INDUSTRY_CODES);
const INDUSTRY_CODES: [Code; 31] = [
    c("01", "农业", "Agriculture"),
    c("02", "林业", "Forestry"),
    c("03", "畜牧业", "Animal husbandry"),
    c("04", "渔业", "Fishery"),
    c(
        "05",
        "农、林、牧、渔专业及辅助性活动",
        "Support activities for agriculture",
    ),
    c(
        "13",
        "农副食品加工业",
        "Processing of food from agricultural products",
    ),
    c("14", "食品制造业", "Manufacture of foods"),
    c("17", "纺织业", "Manufacture of textiles"),
    c("18", "纺织服装、服饰业", "Manufacture of apparel"),
    c("26", "化学原料和化学制品制造业", "Manufacture of chemicals"),
    c("27", "医药制造业", "Manufacture of medicines"),
    c(
        "29",
        "橡胶和塑料制品业",
        "Manufacture of rubber and plastic products",
    ),
    c(
        "30",
        "非金属矿物制品业",
        "Manufacture of non-metallic mineral products",
    ),
    c(
        "32",
        "有色金属冶炼和压延加工业",
        "Smelting and pressing of non-ferrous metals",
    ),
    c("33", "金属制品业", "Manufacture of metal products"),
    c(
        "34",
        "通用设备制造业",
        "Manufacture of general purpose machinery",
    ),
    c(
        "35",
        "专用设备制造业",
        "Manufacture of special purpose machinery",
    ),
    c("36", "汽车制造业", "Manufacture of automobiles"),
    c(
        "38",
        "电气机械和器材制造业",
        "Manufacture of electrical machinery and equipment",
    ),
    c(
        "39",
        "计算机、通信和其他电子设备制造业",
        "Manufacture of computers, communication and other electronic equipment",
    ),
    c(
        "40",
        "仪器仪表制造业",
        "Manufacture of measuring instruments",
    ),
    c(
        "44",
        "电力、热力生产和供应业",
        "Production and supply of electricity and heat",
    ),
    c("46", "水的生产和供应业", "Production and supply of water"),
    c("59", "装卸搬运和仓储业", "Handling and warehousing"),
    c("64", "互联网和相关服务", "Internet and related services"),
    c(
        "65",
        "软件和信息技术服务业",
        "Software and information technology services",
    ),
    c(
        "73",
        "研究和试验发展",
        "Research and experimental development",
    ),
    c("74", "专业技术服务业", "Professional technical services"),
    c(
        "75",
        "科技推广和应用服务业",
        "Technology promotion and application services",
    ),
    c(
        "77",
        "生态保护和环境治理业",
        "Ecological protection and environmental management",
    ),
    c("84", "卫生", "Health"),
];

/// GB/T 13745-2009 first-level subjects (三位数字).
pub const DISCIPLINES: &[Code] = &DISCIPLINE_CODES;
/// The disciplines as a spreadsheet's drop-down lists them (code, Chinese name).
pub const DISCIPLINE_CHOICES: &[(&str, &str)] = &pairs(DISCIPLINE_CODES);
const DISCIPLINE_CODES: [Code; 26] = [
    c(
        "120",
        "信息科学与系统科学",
        "Information and systems science",
    ),
    c("140", "物理学", "Physics"),
    c("150", "化学", "Chemistry"),
    c("180", "生物学", "Biology"),
    c("210", "农学", "Agronomy"),
    c("220", "林学", "Forestry science"),
    c(
        "230",
        "畜牧、兽医科学",
        "Animal husbandry and veterinary science",
    ),
    c("240", "水产学", "Aquaculture science"),
    c("320", "临床医学", "Clinical medicine"),
    c("350", "药学", "Pharmacy"),
    c(
        "410",
        "工程与技术科学基础学科",
        "Basic engineering sciences",
    ),
    c(
        "413",
        "信息与系统科学相关工程与技术",
        "Information and systems engineering",
    ),
    c("430", "材料科学", "Materials science"),
    c("460", "机械工程", "Mechanical engineering"),
    c("470", "动力与电气工程", "Power and electrical engineering"),
    c("480", "能源科学技术", "Energy science and technology"),
    c(
        "510",
        "电子与通信技术",
        "Electronics and communication technology",
    ),
    c("520", "计算机科学技术", "Computer science and technology"),
    c("530", "化学工程", "Chemical engineering"),
    c(
        "535",
        "产品应用相关工程与技术",
        "Product application engineering",
    ),
    c("540", "纺织科学技术", "Textile science and technology"),
    c("550", "食品科学技术", "Food science and technology"),
    c("570", "水利工程", "Hydraulic engineering"),
    c(
        "610",
        "环境科学技术及资源科学技术",
        "Environmental and resource science",
    ),
    c("620", "安全科学技术", "Safety science and technology"),
    c("630", "管理学", "Management science"),
];

const fn pairs<const N: usize>(codes: [Code; N]) -> [(&'static str, &'static str); N] {
    let mut out = [("", ""); N];
    let mut i = 0;
    while i < N {
        out[i] = (codes[i].code, codes[i].zh);
        i += 1;
    }
    out
}

pub fn industry(code: &str) -> Option<&'static Code> {
    INDUSTRIES.iter().find(|c| c.code == code.trim())
}

pub fn discipline(code: &str) -> Option<&'static Code> {
    DISCIPLINES.iter().find(|c| c.code == code.trim())
}

/// An industry code from a form or a spreadsheet cell, refused by the field's name.
pub fn parse_industry(field: &'static str, raw: &str) -> Result<&'static Code, FieldError> {
    industry(raw).ok_or_else(|| {
        FieldError::new(
            field,
            "industry_unknown",
            "is not a GB/T 4754-2017 division on the list",
        )
    })
}

/// A discipline code from a form or a spreadsheet cell, refused by the field's name.
pub fn parse_discipline(field: &'static str, raw: &str) -> Result<&'static Code, FieldError> {
    discipline(raw).ok_or_else(|| {
        FieldError::new(
            field,
            "discipline_unknown",
            "is not a GB/T 13745-2009 subject on the list",
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_unique_and_found_by_code() {
        for list in [INDUSTRIES, DISCIPLINES] {
            let mut seen = std::collections::BTreeSet::new();
            for c in list {
                assert!(seen.insert(c.code), "{} twice", c.code);
            }
        }
        assert_eq!(industry(" 35 ").map(|c| c.zh), Some("专用设备制造业"));
        assert_eq!(
            discipline("520").map(|c| c.en),
            Some("Computer science and technology")
        );
        assert_eq!(
            parse_industry("industry", "99").unwrap_err().code,
            "industry_unknown"
        );
        assert_eq!(
            parse_discipline("discipline", "x").unwrap_err().field,
            "discipline"
        );
    }
}
