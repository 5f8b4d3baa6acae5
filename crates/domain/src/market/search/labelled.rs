//! A labelled evaluation set for matching: hand-written expert profiles and achievements of a
//! county city of moulds, plastics, appliances, optics and farming (余姚, 浙江), and demands as an
//! enterprise types them — unspaced Chinese, asking phrases and all — each with the experts a
//! broker would introduce. Used by the tests (mean P@5 of the index against the substring
//! baseline) and by the benchmark as a realistic seed. Fixture data, not production data.

use super::labelled_data::{ACHIEVEMENTS, EXPERTS};
use super::{AchievementDoc, Availability, DemandQuery, ExpertDoc, Match};

/// The region every demand comes from: 余姚 (its administrative division code).
pub const DEMAND_REGION: &str = "330281";

/// Experts, achievements and demands with the ids of their right experts.
#[derive(Debug, Clone)]
pub struct LabelledSet {
    pub experts: Vec<ExpertDoc>,
    pub achievements: Vec<AchievementDoc>,
    /// Each demand with the ids of the experts that are right for it.
    pub demands: Vec<(DemandQuery, Vec<String>)>,
}

/// `title|summary|industry|right expert ids (space separated)`
const DEMANDS: &[&str] = &[
    "家电外壳注塑件缩痕和翘曲变形严重|我司在余姚生产空调和电风扇的塑料外壳，新开的一套模具做出来的面板缩痕明显，还有翘曲变形，调整保压时间和模温后效果有限，希望找熟悉注塑工艺和模流分析的专家到现场诊断，帮忙优化工艺参数和冷却水路。|29|zs01 zs04 zs09 mj01 zs02 mj07",
    "压铸模具寿命短型腔容易龟裂|公司主要生产铝合金压铸件，压铸模具用不到两万模次就出现龟裂和粘模，想请专家帮忙分析模具钢选材和热处理工艺，提高模具寿命，同时看看模温控制有没有问题。|33|mj03 mj06 mj13",
    "注塑模具冷却慢成型周期太长|我们做日用品注塑，产品壁厚不均匀，模具冷却效果差导致成型周期偏长，听说用3D打印做随形冷却水路可以缩短周期，想找懂模具随形冷却设计和金属3D打印的团队一起开发模具镶件。|29|mj07 mj01 zs09",
    "手持吸尘器噪声大需要降噪|我们是余姚一家小家电企业，生产手持吸尘器和吹风机，产品噪声比竞品高三四分贝，客户投诉比较多，希望找家电噪声和振动控制方面的专家做噪声源识别和降噪设计，顺便优化高速电机的振动。|38|jd01 jd03 sf06 jd08",
    "出口小家电电磁兼容测试不通过|公司生产电热水壶和空气炸锅出口欧洲，最近一批产品做CE认证时电磁兼容测试没有通过，辐射超标，急需熟悉EMC整改和安规测试的专家指导，另外想评估一下产品的能效等级。|38|jd09 jd11 jd05",
    "高像素车载镜头光学设计与镀膜|我司给汽车厂配套摄像头模组，计划开发一款高像素车载镜头，要解决高低温下像质下降的问题，寻找光学镜头设计、光学镀膜和镜头装调方面的专家合作研发。|39|gd01 gd06 gd10 gd08",
    "手机盖板玻璃激光切割崩边严重|公司加工手机盖板玻璃和蓝宝石窗口片，现在激光切割后边缘崩边严重，良率不到八成，想找超快激光加工方面的专家优化切割工艺，也考虑用激光焊接替代部分点胶工序。|39|gd03 gd11 gd12",
    "冲压车间想用机器人自动上下料|我们是一家五金冲压企业，冲床上下料目前全靠人工，安全隐患大、效率也低，想引入工业机器人实现自动上下料，并把几台冲床连成自动化生产线，寻找有产线集成经验的专家。|33|zb01 zb03 zb07 sj03",
    "模具厂建设数字化车间上MES系统|公司有五十多台数控机床和注塑机，订单多、插单频繁，生产进度全靠人跑现场问，想建设数字化车间，上一套MES系统，实现设备联网和生产数据自动采集，最好是做过模具或注塑行业的专家。|35|gy02 gy01 gy05 gy04 mj04",
    "注塑机和空压机经常突发故障停机|工厂里的注塑机和空压机经常突发故障停机，损失很大，希望利用设备的振动和电流数据做故障诊断和预测性维护，提前安排检修，减少非计划停机。|29|gy03 gy11 gy05",
    "伺服电机低速转矩波动大定位不稳|我司在余姚生产中小功率伺服电机和伺服驱动器，客户反映低速时转矩波动大、定位不稳，想请专家从电机电磁设计和驱动器矢量控制算法两方面优化，并提高编码器分辨率。|38|sf01 sf02 sf05 sf06 sf03",
    "注塑件外观缺陷用机器视觉代替人工目检|我们每天生产几十万件注塑件，外观检测全靠人工目检，漏检多、成本高，想上一套机器视觉检测系统，自动识别划伤、缺料、黑点等表面缺陷，并在产线上实时剔除不良品。|29|sj01 sj06 sj04 sj10",
    "家电外壳塑料阻燃等级达不到V0|产品出口需要满足UL94 V0阻燃等级，现在用的PP外壳材料阻燃不达标而且容易开裂，想找改性塑料方面的专家开发无卤阻燃配方，兼顾韧性和耐候性能。|29|cl01 cl11 cl09",
    "钕铁硼磁体降低重稀土用量|公司生产烧结钕铁硼磁体，主要用在伺服电机和新能源汽车电机上，受重稀土价格上涨影响，希望通过晶界扩散等工艺，在保证矫顽力的前提下降低镝、铽用量。|32|cl04 sf04 cl12",
    "杨梅采后保鲜和冷链运输|我们是余姚的杨梅合作社，每年杨梅上市很集中，常温下两三天就坏，外地客户收到时烂果多，想找杨梅保鲜和冷链运输方面的专家，改进预冷和包装方式，延长货架期。|01|ym03 ym08 ds03",
    "用次果开发杨梅酒杨梅汁等深加工产品|每年有大量杨梅次果卖不掉，想开发杨梅酒、杨梅汁和冻干杨梅等深加工产品，目前自酿的杨梅酒容易浑浊、颜色变褐，需要懂果酒酿造和果汁加工工艺的专家指导。|14|ym04 ym05 ym07",
    "茭白病虫害严重孕茭不整齐|河姆渡镇种植双季茭白三百多亩，今年二化螟和锈病比较严重，孕茭也不整齐，希望农技专家来田间指导病虫害绿色防控和栽培管理。|01|jb01 jb02 jb10",
    "榨菜腌制太咸想做低盐化|我们厂生产袋装榨菜，传统高盐腌制口味偏咸，亚硝酸盐有时偏高，产生的腌制盐水处理也很头疼，希望找专家改进低盐腌制和发酵工艺，开发新口味。|13|jb03 jb04 jb07 jb08",
    "南美白对虾养殖成活率低|养殖场有二十个对虾养殖池，近两年南美白对虾发病多，成活率只有五成左右，想请水产专家帮忙做病害防控和水质调控，并考虑改造成循环水养殖，虾苗质量也想把把关。|04|sc01 sc02 sc03 sc04 sc09",
    "电镀废水重金属处理不稳定|公司有一条五金电镀线，电镀废水里的镍、铬等重金属处理不稳定，环保检查压力大，希望找废水处理专家改造现有工艺，实现达标排放和中水回用，同时减少污泥产生量。|33|hb01 hb10 hb04",
    "注塑喷涂车间有机废气异味扰民|喷涂和注塑车间有异味，被周边居民投诉，需要对有机废气进行收集和治理，评估活性炭吸附加催化燃烧的方案是否合适，并测算运行成本。|29|hb02 hb11 hb12",
    "代工厂转型做小家电跨境电商|工厂以前只做外贸代工，现在想做自己的品牌，通过亚马逊和独立站把小家电卖到欧美，需要跨境电商运营和海外仓物流方面的专家指导。|38|ds01 ds09 ds07",
    "浙贝母提取率低杂质多|公司生产中药饮片和中药提取物，浙贝母的提取率偏低、杂质较多，希望寻找中药提取纯化方面的专家优化提取工艺，并协助建立质量标准。|27|yy01 yy10 yy09",
];

/// The set, parsed from its tables.
///
/// # Panics
/// If a table row is malformed — the tables are constants, and a test parses them.
pub fn labelled_set() -> LabelledSet {
    LabelledSet {
        experts: EXPERTS
            .iter()
            .map(|row| parse_expert(row).expect("expert row"))
            .collect(),
        achievements: ACHIEVEMENTS
            .iter()
            .map(|row| parse_achievement(row).expect("achievement row"))
            .collect(),
        demands: DEMANDS
            .iter()
            .map(|row| parse_demand(row).expect("demand row"))
            .collect(),
    }
}

/// Precision at `k`: of the first `k` results, the share whose id is in `right`, over the
/// positions that could be right — `min(k, right.len())` — so a demand with three right experts
/// scores 1.0 when all three are in its top five. An empty `right` scores 0.
pub fn precision_at(k: usize, results: &[Match], right: &[String]) -> f64 {
    let possible = k.min(right.len());
    if possible == 0 {
        return 0.0;
    }
    let hits = results
        .iter()
        .take(k)
        .filter(|m| right.contains(&m.id))
        .count();
    hits as f64 / possible as f64
}

/// The region of an institution in the set: its city's (or county's) division code.
fn region_of(institution: &str) -> &'static str {
    const REGIONS: &[(&str, &str)] = &[
        ("浙江大学机器人研究院", "330281"),
        ("余姚市", "330281"),
        ("浙江大学宁波研究院", "330200"),
        ("浙江大学", "330100"),
        ("浙江工业大学", "330100"),
        ("中国计量大学", "330100"),
        ("浙江工商大学", "330100"),
        ("浙江省农业科学院", "330100"),
        ("浙江中医药大学", "330100"),
        ("浙江海洋大学", "330900"),
        ("浙江省淡水水产研究所", "330500"),
    ];
    REGIONS
        .iter()
        .find(|(prefix, _)| institution.starts_with(prefix))
        .map_or("330200", |r| r.1)
}

fn parse_expert(row: &str) -> Option<ExpertDoc> {
    let f: Vec<&str> = row.split('|').collect();
    let [id, name, institution, title, discipline, industries, availability, keywords, summary] =
        f.as_slice()
    else {
        return None;
    };
    let availability = match *availability {
        "a" => Availability::Available,
        "l" => Availability::Limited,
        "u" => Availability::Unavailable,
        _ => return None,
    };
    Some(ExpertDoc {
        id: format!("E-{id}"),
        name: (*name).to_owned(),
        discipline: (*discipline).to_owned(),
        industries: industries.split(',').map(str::to_owned).collect(),
        institution: (*institution).to_owned(),
        title: (*title).to_owned(),
        keywords: keywords.split('、').map(str::to_owned).collect(),
        summary: (*summary).to_owned(),
        region: region_of(institution).to_owned(),
        availability,
    })
}

fn parse_achievement(row: &str) -> Option<AchievementDoc> {
    let f: Vec<&str> = row.split('|').collect();
    let [id, title, industry, discipline, region, keywords, summary] = f.as_slice() else {
        return None;
    };
    Some(AchievementDoc {
        id: format!("A-{id}"),
        title: (*title).to_owned(),
        summary: (*summary).to_owned(),
        keywords: keywords.split('、').map(str::to_owned).collect(),
        industry: (*industry).to_owned(),
        discipline: (*discipline).to_owned(),
        region: (*region).to_owned(),
    })
}

fn parse_demand(row: &str) -> Option<(DemandQuery, Vec<String>)> {
    let f: Vec<&str> = row.split('|').collect();
    let [title, summary, industry, right] = f.as_slice() else {
        return None;
    };
    let query = DemandQuery {
        title: (*title).to_owned(),
        summary: (*summary).to_owned(),
        industry: (*industry).to_owned(),
        region: DEMAND_REGION.to_owned(),
    };
    Some((
        query,
        right
            .split_whitespace()
            .map(|id| format!("E-{id}"))
            .collect(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::market::codes;

    #[test]
    fn the_set_parses_and_its_labels_point_at_available_experts() {
        let set = labelled_set();
        assert!(
            (150..=250).contains(&set.experts.len()),
            "{} experts",
            set.experts.len()
        );
        assert!(set.demands.len() >= 20);
        for e in &set.experts {
            assert!(
                codes::discipline(&e.discipline).is_some(),
                "{} {}",
                e.id,
                e.discipline
            );
            for i in &e.industries {
                assert!(codes::industry(i).is_some(), "{} {i}", e.id);
            }
        }
        for a in &set.achievements {
            assert!(
                codes::industry(&a.industry).is_some(),
                "{} {}",
                a.id,
                a.industry
            );
            assert!(
                codes::discipline(&a.discipline).is_some(),
                "{} {}",
                a.id,
                a.discipline
            );
        }
        for (demand, right) in &set.demands {
            assert!(
                codes::industry(&demand.industry).is_some(),
                "{}",
                demand.title
            );
            assert!((3..=8).contains(&right.len()), "{}", demand.title);
            for id in right {
                let e = set.experts.iter().find(|e| &e.id == id);
                let e = e.unwrap_or_else(|| panic!("{id} of {} is not in the set", demand.title));
                assert_ne!(e.availability, Availability::Unavailable, "{id}");
            }
        }
    }

    #[test]
    fn precision_counts_hits_over_the_positions_that_could_be_right() {
        let m = |id: &str| Match {
            kind: super::super::Kind::Expert,
            id: id.to_owned(),
            score: 1.0,
            text_score: 1.0,
            terms: vec![],
            codes: vec![],
            same_region: false,
        };
        let results = [m("a"), m("x"), m("b"), m("y"), m("z"), m("c")];
        let right = ["a", "b", "c"].map(str::to_owned);
        assert!((precision_at(5, &results, &right) - 2.0 / 3.0).abs() < 1e-9);
        assert!((precision_at(1, &results, &right) - 1.0).abs() < 1e-9);
        assert_eq!(precision_at(5, &results, &[]), 0.0);
        assert_eq!(precision_at(5, &[], &right), 0.0);
    }
}
