//! The technology supermarket's demo and benchmark data: an expert pool, achievements, enterprises'
//! demands and the enterprises themselves, in the Chinese a Yuyao market would hold. Everything
//! comes from a seed: the same seed and size give the same pool.
//!
//! Twenty-one topics of Yuyao's and Ningbo's industry and farming each carry a discipline, a few
//! industries, a vocabulary and hand-written cases; texts are assembled from them, so a demand
//! about injection moulds uses the words the mould experts are filed under.

// `demo` and `bench` load the pool; until they do, only the tests call it.
#![cfg_attr(not(test), allow(dead_code))]

use moralbank_store::fixtures::city::TOWNS;
use rand::distributions::WeightedIndex;
use rand::rngs::StdRng;
use rand::seq::{IteratorRandom, SliceRandom};
use rand::{Rng, SeedableRng};

/// The pool of the demo and the benchmarks (the city's reported figure).
pub const DEMO_EXPERTS: usize = 29_770;
pub const ACHIEVEMENTS: usize = 112;
pub const DEMANDS: usize = 84;
pub const ENTERPRISES: usize = 40;
/// Price and budget bands, in yuan.
#[rustfmt::skip]
pub const BANDS: [&str; 6] = ["under_100k", "100k_500k", "500k_2m", "2m_10m", "over_10m", "negotiable"];

/// Where an expert works: in one of Yuyao's towns (an index into `TOWNS`), elsewhere in Ningbo,
/// elsewhere in Zhejiang, or outside the province.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Region {
    Local(usize),
    Ningbo,
    Province,
    Elsewhere,
}

#[derive(Debug, Clone, PartialEq)]
pub struct PoolExpert {
    /// "E" and six digits.
    pub code: String,
    pub name: String,
    pub title: String,
    pub institution: String,
    /// A GB/T 13745 subject from `codes::DISCIPLINES`.
    pub discipline: &'static str,
    /// One to three GB/T 4754 divisions from `codes::INDUSTRIES`.
    pub industries: Vec<&'static str>,
    pub keywords: Vec<String>,
    pub summary: String,
    pub region: Region,
    /// "available", "limited" or "unavailable".
    pub availability: &'static str,
    pub phone: String,
    pub email: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct PoolAchievement {
    /// "A" and four digits.
    pub code: String,
    pub title: String,
    pub summary: String,
    pub keywords: Vec<String>,
    pub industry: &'static str,
    pub discipline: &'static str,
    /// Technology readiness level, 1 to 9.
    pub trl: u8,
    /// "invention_patent", "utility_model", "software_copyright", "plant_variety" or "know_how".
    pub ip_kind: &'static str,
    pub ip_number: String,
    /// "transfer", "licence" or "joint_development".
    pub licensing: &'static str,
    /// One of `BANDS`.
    pub price_band: &'static str,
    /// An index into `Pool::experts`, an expert of the achievement's discipline.
    pub owner_expert: usize,
}

#[derive(Debug, Clone, PartialEq)]
pub struct PoolDemand {
    pub title: String,
    pub summary: String,
    /// Confidential: figures, process parameters and the budget's reasoning.
    pub detail: String,
    pub industry: &'static str,
    /// One of `BANDS`.
    pub budget_band: &'static str,
    /// Days from now.
    pub deadline_days: u16,
    /// An index into `Pool::enterprises`.
    pub enterprise: usize,
}

#[derive(Debug, Clone, PartialEq)]
pub struct PoolEnterprise {
    pub name: String,
    /// A unified social credit code (GB 32100-2015) registered in Yuyao.
    pub credit_code: String,
    /// "company", "cooperative" or "institution".
    pub kind: &'static str,
    pub industry: &'static str,
    /// An index into `TOWNS`.
    pub town: usize,
    pub contact_name: String,
    pub contact_phone: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Pool {
    pub experts: Vec<PoolExpert>,
    pub achievements: Vec<PoolAchievement>,
    pub demands: Vec<PoolDemand>,
    pub enterprises: Vec<PoolEnterprise>,
}

/// One field of the market. Lists are separated by single spaces: `titles` (of practitioners
/// outside universities), `firms` (companies' name endings), `params` (facts a demand quotes).
/// `issues`, separated by `;`, are enterprises' cases: opening|short title|problem|goal|techniques
/// (from `keywords`); `results` are achievements: title|keywords|IP kind (P invention, U utility
/// model, S software, V plant variety, K know-how).
struct Topic {
    name: &'static str,
    discipline: &'static str,
    industries: &'static [&'static str],
    weight: u32,
    agri: bool,
    titles: &'static str,
    firms: &'static str,
    keywords: &'static str,
    params: &'static str,
    issues: &'static str,
    results: &'static str,
}

const ENGINEERS: &str = "高级工程师 高级工程师 正高级工程师 工程师 工程师";

#[rustfmt::skip]
const TOPICS: [Topic; 21] = [
    Topic { name: "模具与注塑", discipline: "460", industries: &["29", "35", "33"], weight: 14, agri: false, titles: ENGINEERS, firms: "精密模具 模塑科技 塑胶制品 模具", keywords: "注塑模具 模流分析 热流道 精密冲压模 模具钢 随形冷却 快速换模 模具寿命 薄壁注塑 双色注塑 气辅成型 模具表面处理 CAE仿真 缩痕控制 翘曲变形 高光无痕注塑 微发泡注塑 3D打印模具", params: "模温约80℃、保压时间6秒 注射压力约110MPa、锁模力450吨 型腔数1出8、冷却时间约18秒 年产模具约120套、注塑机35台",
        issues: "公司主要为家电企业配套生产外壳注塑件|注塑件翘曲变形控制|大尺寸面板翘曲变形严重|将翘曲量控制在0.3毫米以内|模流分析、随形冷却;我们是一家做精密连接器模具的企业|连接器模具寿命提升|多腔模具的型芯磨损快、寿命偏短|使模具寿命提高到100万模次以上|模具钢、模具表面处理;公司生产汽车内饰注塑件，客户要求免喷涂|高光免喷涂外观件成型|制品表面缩痕和熔接线明显|消除外观面缩痕并达到免喷涂要求|高光无痕注塑、热流道;我们主要承接医疗和日用品的多腔模具订单|缩短新模开发周期|新模试模次数多、开发周期长|将试模次数减少到3次以内、开发周期缩短三分之一|CAE仿真、模流分析",
        results: "一种随形冷却注塑模具|随形冷却、3D打印模具、注塑模具|U;薄壁家电外壳高光无痕注塑成型工艺|薄壁注塑、高光无痕注塑、缩痕控制|P;基于模流分析的注塑工艺参数优化系统|模流分析、CAE仿真、翘曲变形|S;一种热流道针阀式浇注装置|热流道、注塑模具、双色注塑|U;精密连接器多腔模具快速换模技术|快速换模、精密冲压模、模具寿命|K;模具钢表面复合强化处理工艺|模具钢、模具表面处理、模具寿命|P" },
    Topic { name: "家用电器", discipline: "470", industries: &["38", "34"], weight: 9, agri: false, titles: ENGINEERS, firms: "电器 家电科技 电器制造 环境电器", keywords: "小家电设计 无刷直流电机 变频控制 智能温控 噪声控制 振动控制 能效提升 工业设计 电热元件 物联网模组 可靠性测试 结构轻量化 除湿技术 空气净化 热泵技术 人机交互 风道设计 语音控制", params: "整机功率约1200W、待机功耗0.8W 年产量约80万台、出口占比六成 电机转速约2800转/分、噪声52分贝 研发人员12人、每年新品约20款",
        issues: "公司主要生产出口型电风扇和空气循环扇|风扇整机降噪|整机噪声偏高，欧洲客户多次投诉|将高档运行噪声降到45分贝以下|风道设计、噪声控制;我们生产家用除湿机，年产约30万台|除湿机能效提升|产品能效刚好卡在国标线上|使产品达到新国标一级能效|热泵技术、能效提升;公司做取暖器和电暖桌，以电商渠道为主|取暖器智能化升级|产品只有机械旋钮，功能单一|实现手机远程控制、定时和语音操作|物联网模组、语音控制;企业主要生产厨房小家电，给多个品牌代工|小家电返修率降低|售后返修率偏高，主要是温控失灵|将返修率降到0.5%以下|智能温控、可靠性测试",
        results: "无刷直流电机低噪声驱动控制技术|无刷直流电机、噪声控制、变频控制|P;一种节能型热泵除湿装置|热泵技术、除湿技术、能效提升|U;小家电智能温控系统|智能温控、电热元件、人机交互|S;一种低噪声贯流风道结构|风道设计、噪声控制、振动控制|U;基于物联网的家电远程运维平台|物联网模组、可靠性测试、语音控制|S;家电整机可靠性加速试验方法|可靠性测试、结构轻量化、小家电设计|K" },
    Topic { name: "光学与光电", discipline: "140", industries: &["40", "39"], weight: 10, agri: false, titles: ENGINEERS, firms: "光电科技 光学仪器 光电 精密光学", keywords: "光学镜头设计 光学镀膜 非球面加工 红外镜头 车载镜头 安防监控镜头 增透膜 光学玻璃模压 精密研磨抛光 MTF测试 杂散光抑制 光学胶合 激光加工 镜片注塑 超精密加工 光学系统装调 滤光片 无热化设计", params: "镀膜真空度约0.002Pa、基板温度250℃ 镜片中心厚度公差±0.01毫米 月产镜片约300万片 装调人员40人、日产镜头约1.2万颗",
        issues: "公司主要生产车载摄像头镜头|车载镜头高低温成像稳定|高低温环境下焦点漂移、成像模糊|在-40℃到85℃范围内保持成像清晰|无热化设计、光学镜头设计;我们做安防镜片和滤光片的镀膜加工|光学镀膜附着力提升|膜层附着力不足，高温高湿试验后脱膜|使膜层通过85℃、85%湿度1000小时试验|光学镀膜、增透膜;企业从事手机和车载非球面镜片的加工|非球面镜片良率提升|非球面镜片面形精度不稳定，良率只有八成|将镜片综合良率提高到95%|非球面加工、光学玻璃模压;公司生产投影和安防镜头|镜头鬼影与杂散光抑制|大光圈镜头的杂散光和鬼影明显|将鬼影强度降低一半以上|杂散光抑制、光学镜头设计",
        results: "车载广角镜头无热化设计技术|无热化设计、车载镜头、光学镜头设计|K;一种高耐候宽带增透膜及其制备方法|增透膜、光学镀膜、激光加工|P;红外硫系玻璃精密模压成型工艺|光学玻璃模压、红外镜头、超精密加工|P;基于机器学习的镜头装调辅助系统|光学系统装调、MTF测试、光学镜头设计|S;一种低杂散光安防监控镜头|杂散光抑制、安防监控镜头、光学胶合|U;光学镜片精密研磨抛光工艺|精密研磨抛光、非球面加工、镜片注塑|P" },
    Topic { name: "智能装备与工业机器人", discipline: "460", industries: &["34", "35"], weight: 11, agri: false, titles: ENGINEERS, firms: "智能装备 自动化设备 机器人科技 智能科技", keywords: "工业机器人 协作机器人 机器人集成 自动化生产线 上下料机械手 离线编程 精密减速器 末端执行器 柔性装配 AGV 数字孪生 视觉引导 焊接机器人 码垛机器人 设备故障诊断 非标自动化 PLC编程 快速换型", params: "生产节拍约12秒/件、两班制 现有机器人6台、负载20公斤 产线长度约40米、工位14个 设备平均役龄7年、PLC品牌3种",
        issues: "公司有注塑机60台，取件和去浇口主要靠人工|注塑车间自动上下料|人工上下料效率低、招工难|实现无人化上下料、节拍提高30%|上下料机械手、视觉引导;我们生产小家电电机，总装线以人工为主|电机装配线自动化改造|关键工位依赖熟练工，人员流动大|用机器人替代8个人工工位|柔性装配、协作机器人;企业主要做五金结构件焊接|焊接工作站一致性提升|焊缝质量一致性差，返修多|使焊缝一次合格率达到99%以上|焊接机器人、离线编程;公司产线品种多、批量小，一天要换型好几次|产线快速换型|换型时间长，设备利用率低|将换型时间缩短到20分钟以内|快速换型、末端执行器",
        results: "一种注塑件自动取件与去浇口装置|上下料机械手、末端执行器、非标自动化|U;协作机器人柔性装配工作站|协作机器人、柔性装配、视觉引导|K;基于数字孪生的产线虚拟调试系统|数字孪生、PLC编程、自动化生产线|S;焊接机器人焊缝视觉跟踪技术|焊接机器人、视觉引导、离线编程|P;一种多品种快速换型夹具|快速换型、末端执行器、机器人集成|U;工业机器人精密减速器寿命预测方法|精密减速器、设备故障诊断、工业机器人|P" },
    Topic { name: "工业互联网与MES", discipline: "413", industries: &["65", "64"], weight: 7, agri: false, titles: ENGINEERS, firms: "信息科技 软件 智能科技 网络科技", keywords: "制造执行系统 工业互联网平台 设备联网 数据采集 OEE分析 生产排程 质量追溯 边缘计算 数字化车间 ERP集成 RFID 能耗监测 工业APP 看板管理 仓储管理系统 5G专网 预测性维护", params: "车间设备约120台、品牌型号20余种 日均订单约300单、物料编码2万余个 现有ERP已用8年、接口文档不全 车间网络为百兆有线、无线信号不稳定",
        issues: "公司有注塑、装配两个车间，生产数据靠班组长手工填报|注塑车间设备联网与数据采集|数据滞后、报表不准|实现设备数据自动采集、报表实时生成|设备联网、数据采集;我们是做五金件的，订单多、批量小|多品种小批量生产排程|排产靠经验，订单交期经常延误|使订单准时交付率提高到95%以上|生产排程、制造执行系统;企业为汽车厂配套，客户要求全程可追溯|产品质量追溯系统建设|出现质量问题时很难追到原料批次和机台|实现从原料批次到成品的全程追溯|质量追溯、RFID;公司已经上了ERP和仓储系统，但各系统互不相通|ERP与MES数据打通|同一份数据要在几个系统里重复录入|打通ERP、MES和仓储系统的数据|ERP集成、仓储管理系统",
        results: "面向中小企业的轻量化MES系统|制造执行系统、看板管理、数字化车间|S;一种多协议注塑机数据采集网关|数据采集、设备联网、边缘计算|U;基于工业互联网的设备预测性维护平台|预测性维护、工业互联网平台、数据采集|S;一种多品种小批量生产排程方法|生产排程、OEE分析、制造执行系统|P;模具全生命周期管理系统|质量追溯、RFID、工业APP|S;车间能耗在线监测与分析平台|能耗监测、边缘计算、5G专网|S" },
    Topic { name: "伺服电机与运动控制", discipline: "470", industries: &["38", "34"], weight: 7, agri: false, titles: ENGINEERS, firms: "电机 机电科技 驱动技术 电气", keywords: "伺服电机 永磁同步电机 伺服驱动器 运动控制器 编码器 矢量控制 电机效率 振动抑制 位置精度 直线电机 步进电机 电磁设计 EtherCAT总线 减速电机 电机温升 转矩脉动 无感控制 参数自整定", params: "额定功率400W至3kW、额定转速3000转/分 编码器分辨率17位、响应带宽约1.2kHz 年产电机约15万台 电机绕组为手工嵌线、槽满率约72%",
        issues: "公司生产中小功率伺服电机，主要配套包装机械|伺服电机低速抖动抑制|低速运行时抖动明显，客户反映加工面有纹路|将转矩脉动降到2%以内|转矩脉动、矢量控制;我们做直线模组和运动平台|直线模组定位精度提升|重复定位精度不够，高端订单拿不下|使重复定位精度达到±0.002毫米|位置精度、直线电机;企业主要生产微型减速电机|减速电机效率与温升改进|电机效率偏低、长时间运行温升高|使电机效率提高5个百分点、温升降低15K|电磁设计、电机温升;公司自主开发伺服驱动器，调试工作量大|伺服驱动器参数自整定|现场调试依赖工程师经验，一台要调半天|实现参数自整定、调试时间缩短一半|参数自整定、伺服驱动器",
        results: "永磁同步伺服电机转矩脉动抑制技术|转矩脉动、永磁同步电机、振动抑制|P;一种高分辨率磁电编码器|编码器、位置精度、伺服电机|U;伺服驱动器参数自整定软件|参数自整定、伺服驱动器、矢量控制|S;一种低温升扁线电机绕组结构|电机温升、电磁设计、电机效率|U;基于EtherCAT总线的多轴运动控制器|EtherCAT总线、运动控制器、步进电机|P;直线电机高精度位置控制方法|直线电机、位置精度、无感控制|P" },
    Topic { name: "机器视觉检测", discipline: "520", industries: &["40", "65"], weight: 7, agri: false, titles: ENGINEERS, firms: "视觉科技 智能检测 信息科技 检测技术", keywords: "机器视觉 缺陷检测 深度学习 图像处理 工业相机 光源设计 尺寸测量 外观检测 字符识别 三维视觉 目标定位 小样本学习 视觉标定 表面瑕疵 在线检测 高速成像 数据标注 无序抓取", params: "产线速度约每分钟120件、缺陷类型12种 相机分辨率500万像素、视野80×60毫米 目前质检员14人、三班倒 历史缺陷图片约3000张、标注不全",
        issues: "公司生产家电注塑外观件，出厂前全部靠人工目检|注塑件外观缺陷自动检测|人工目检漏检多、质检员招不到|用视觉系统替代人工、漏检率低于0.1%|缺陷检测、深度学习;我们做五金冲压件，品种有两百多种|冲压件尺寸在线测量|抽检比例低，批量尺寸问题发现晚|实现关键尺寸全数在线检测、精度0.02毫米|尺寸测量、视觉标定;企业生产不锈钢厨具，表面反光强|高反光表面瑕疵检测|表面划伤和凹坑成像困难，现有设备误报多|把误报率降到2%以下|光源设计、表面瑕疵;公司包装线上有多种产品混线生产|包装字符与标签识别|喷码和标签错漏时有发生，客户多次罚款|实现喷码和标签的全检|字符识别、在线检测",
        results: "基于深度学习的注塑件外观缺陷检测系统|深度学习、缺陷检测、外观检测|S;一种高反光表面多角度照明装置|光源设计、表面瑕疵、高速成像|U;小样本工业缺陷识别算法|小样本学习、数据标注、缺陷检测|P;三维视觉引导无序抓取系统|三维视觉、无序抓取、目标定位|S;冲压件关键尺寸视觉测量方法|尺寸测量、视觉标定、工业相机|P;包装喷码字符在线识别系统|字符识别、在线检测、图像处理|S" },
    Topic { name: "改性塑料与高分子材料", discipline: "430", industries: &["29", "26"], weight: 8, agri: false, titles: ENGINEERS, firms: "新材料 塑料科技 高分子材料 塑化", keywords: "改性塑料 阻燃材料 无卤阻燃 玻纤增强 材料配方 耐候性 抗老化 高分子复合材料 导热塑料 生物降解材料 材料表征 注塑级专用料 再生塑料 增韧改性 双螺杆挤出 色母粒", params: "双螺杆挤出温度220至240℃、转速400转/分 玻纤含量30%、拉伸强度约120MPa 年产改性粒子约2万吨 配方工程师5人、有常规力学性能检测设备",
        issues: "公司主要生产家电用改性PP和ABS|无卤阻燃增强PP开发|客户要求无卤，现有配方阻燃等级达不到|在不用卤素的前提下达到UL94 V-0级|无卤阻燃、玻纤增强;我们是一家再生塑料造粒企业|再生塑料性能稳定性提升|再生料批次间性能波动大，高端客户不敢用|使批次间性能波动控制在5%以内|再生塑料、增韧改性;企业生产户外家具和园林用品的塑料件|户外塑料件抗老化|产品户外使用一两年就发黄、变脆|使产品户外使用三年不明显黄变|抗老化、耐候性;公司为LED灯具配套导热塑料件|导热塑料成本优化|导热塑料成本高，和铝件比没有价格优势|在导热性能不降的前提下成本降低15%|导热塑料、材料配方",
        results: "一种无卤阻燃增强聚丙烯复合材料|无卤阻燃、玻纤增强、改性塑料|P;高导热绝缘尼龙及其制备方法|导热塑料、高分子复合材料、材料配方|P;一种再生PET增韧改性工艺|再生塑料、增韧改性、双螺杆挤出|P;户外用耐候抗老化塑料配方|耐候性、抗老化、色母粒|K;全生物降解吸管专用料|生物降解材料、注塑级专用料、材料表征|P;家电外壳用免喷涂美学塑料|注塑级专用料、改性塑料、色母粒|K" },
    Topic { name: "磁性材料", discipline: "430", industries: &["32", "39"], weight: 5, agri: false, titles: ENGINEERS, firms: "磁业 磁性材料 磁电科技 新材料", keywords: "磁性材料 钕铁硼 烧结钕铁硼 粘结磁体 软磁铁氧体 晶界扩散 重稀土减量 磁体表面防护 磁性能检测 取向成型 氢破碎 气流磨 烧结工艺 磁粉芯 高频磁芯 稀土回收", params: "烧结温度1080℃、保温4小时 气流磨粒度约3.5微米 年产磁体约800吨 现有矫顽力约20kOe、剩磁约13.5kGs",
        issues: "公司生产烧结钕铁硼磁体，主要用于电机|钕铁硼磁体高温退磁改善|磁体在高温下退磁，客户电机出现功率下降|使磁体在150℃下不可逆损失小于3%|晶界扩散、烧结钕铁硼;我们主要生产电机用烧结钕铁硼|重稀土用量降低|镝、铽价格高，材料成本压力大|在矫顽力不降的前提下重稀土用量减少40%|重稀土减量、晶界扩散;企业生产锰锌软磁铁氧体磁芯|高频磁芯损耗降低|高频下磁芯损耗偏高，满足不了快充电源要求|使500kHz下功率损耗降低20%|软磁铁氧体、高频磁芯;公司做钕铁硼磁体的表面处理|磁体表面防护工艺改进|盐雾试验时间达不到客户要求|使中性盐雾试验超过720小时|磁体表面防护、磁性能检测",
        results: "钕铁硼磁体晶界扩散低重稀土技术|晶界扩散、重稀土减量、烧结钕铁硼|P;高磁导率锰锌铁氧体制备技术|软磁铁氧体、烧结工艺、高频磁芯|P;一种钕铁硼磁体复合防护涂层|磁体表面防护、钕铁硼、磁性能检测|P;钕铁硼废料稀土回收工艺|稀土回收、氢破碎、钕铁硼|K;一种粘结磁体取向成型装置|粘结磁体、取向成型、磁性材料|U;金属磁粉芯低损耗制备方法|磁粉芯、高频磁芯、磁性材料|P" },
    Topic { name: "汽车零部件", discipline: "460", industries: &["36", "33"], weight: 9, agri: false, titles: ENGINEERS, firms: "汽车部件 汽配 汽车零部件 车业", keywords: "汽车零部件 轻量化设计 铝合金压铸 汽车电子 线束连接器 车灯模组 冲压成形 焊接工艺 疲劳寿命 NVH 新能源汽车 热管理 密封件 精密加工 尺寸链分析 台架试验 真空压铸 异响诊断", params: "压铸机2800吨、模温约200℃ 年配套量约60万套、主机厂5家 材料为ADC12铝合金、壁厚3.5毫米 关键尺寸CPK约0.9",
        issues: "公司为新能源汽车配套生产铝合金压铸壳体|压铸件气孔缺陷控制|压铸件气孔多，加工后漏气报废|将气孔不良率降到1.5%以下|真空压铸、铝合金压铸;我们给主机厂配套座椅调节器|座椅调节器异响消除|异响问题反复出现，主机厂多次投诉|找到异响根源并彻底消除|异响诊断、NVH;企业生产新能源汽车电池托盘|电池托盘轻量化设计|零件重量超出主机厂目标|在强度不降的前提下减重15%|轻量化设计、焊接工艺;公司生产车灯支架和安装结构件|车灯支架疲劳寿命提升|台架振动试验时支架出现开裂|通过主机厂20万次耐久试验|疲劳寿命、台架试验",
        results: "新能源汽车电池托盘轻量化设计|轻量化设计、新能源汽车、焊接工艺|K;一种铝合金压铸件真空排气装置|真空压铸、铝合金压铸、精密加工|U;汽车车灯支架一体化成型技术|车灯模组、冲压成形、疲劳寿命|P;基于仿真的零部件异响诊断方法|异响诊断、NVH、台架试验|P;一种高可靠汽车线束连接器|线束连接器、汽车电子、密封件|U;新能源汽车电池包热管理结构|热管理、新能源汽车、尺寸链分析|U" },
    Topic { name: "电子元器件", discipline: "510", industries: &["39", "38"], weight: 8, agri: false, titles: ENGINEERS, firms: "电子 电子科技 电器元件 微电子", keywords: "电子元器件 继电器 薄膜电容器 温度传感器 PCB设计 SMT贴片 可靠性试验 电磁兼容 功率器件 失效分析 封装工艺 焊点可靠性 开关电源 电磁屏蔽 老化筛选 触点材料", params: "SMT线4条、贴片速度约每小时6万点 产品工作温度-40至105℃ 月产继电器约500万只 检测设备以常规电参数测试为主",
        issues: "公司主要生产家电和汽车用继电器|继电器触点寿命提升|大电流负载下触点粘连，电寿命不足|使电寿命达到10万次以上|触点材料、可靠性试验;我们生产开关电源，出口欧洲|开关电源电磁兼容整改|产品EMC测试多次不过，拖延认证|使产品一次通过EMC认证|电磁兼容、PCB设计;企业有4条SMT线，为客户代工线路板|SMT焊点不良率降低|虚焊和连锡不良偏高|将焊接不良率降到百万分之二百以下|SMT贴片、焊点可靠性;公司生产NTC温度传感器|温度传感器精度与一致性提升|传感器温漂大、一致性差|在-40℃到125℃范围内精度达到±0.5℃|温度传感器、封装工艺",
        results: "一种长寿命大电流继电器触点结构|触点材料、继电器、可靠性试验|U;薄膜电容器自愈性能提升工艺|薄膜电容器、老化筛选、封装工艺|P;高精度NTC温度传感器封装技术|温度传感器、封装工艺、失效分析|P;电子产品电磁兼容整改设计方法|电磁兼容、电磁屏蔽、PCB设计|K;一种开关电源软启动电路|开关电源、功率器件、电磁兼容|U;电子元器件失效分析数据库系统|失效分析、可靠性试验、电子元器件|S" },
    Topic { name: "节能环保与污水处理", discipline: "610", industries: &["77", "46", "44"], weight: 8, agri: false, titles: ENGINEERS, firms: "环保科技 环境工程 节能科技 水处理设备", keywords: "污水处理 废气治理 VOCs治理 污泥减量 膜生物反应器 中水回用 电镀废水 农村生活污水 节能改造 余热回收 固废资源化 在线监测 生物除臭 清洁生产 碳排放核算 厌氧消化 高级氧化 智慧运维", params: "日处理水量约800吨、进水COD约1500毫克/升 废气风量约3万立方米/小时 现有工艺为A/O加混凝沉淀 年运行费用约260万元",
        issues: "公司是电镀加工企业，自建了废水处理站|电镀废水重金属深度处理|出水镍、铜指标时有超标|使出水重金属稳定低于排放限值|电镀废水、高级氧化;我单位负责镇村农村生活污水处理设施的运行管理|农村生活污水站点提标改造|部分站点出水氨氮和总磷不稳定|使出水稳定达到一级A标准|农村生活污水、膜生物反应器;企业有两条喷涂线，废气经活性炭吸附后排放|喷涂废气VOCs治理|活性炭更换频繁、运行费用高，排放浓度接近限值|使非甲烷总烃排放浓度稳定低于50毫克每立方米|VOCs治理、废气治理;我单位管理全市三百多个农村污水处理站点|农村污水站点智慧运维|站点分散、巡检靠人工，故障发现不及时|实现站点远程监控、故障2小时内发现|智慧运维、在线监测",
        results: "一种农村生活污水一体化处理设备|农村生活污水、膜生物反应器、污水处理|U;电镀废水重金属深度去除技术|电镀废水、高级氧化、中水回用|P;喷涂废气沸石转轮浓缩催化燃烧工艺|VOCs治理、废气治理、余热回收|P;注塑车间废气生物除臭装置|生物除臭、废气治理、清洁生产|U;污泥低温干化减量技术|污泥减量、固废资源化、节能改造|P;企业碳排放核算与管理平台|碳排放核算、在线监测、节能改造|S" },
    Topic { name: "农产品加工", discipline: "550", industries: &["13", "14", "01"], weight: 8, agri: true, titles: "高级工程师 工程师 高级农艺师 农艺师", firms: "食品 农产品开发 食品科技 农业开发", keywords: "杨梅保鲜 杨梅深加工 榨菜腌制 低盐腌制 茭白保鲜 竹笋加工 果蔬预冷 真空冷冻干燥 杀菌工艺 货架期延长 副产物综合利用 风味物质 发酵工艺 食品安全检测 果汁加工 护色工艺 果酒酿造", params: "旺季日加工鲜果约20吨、冷库容量800吨 腌制周期约30天、盐度12% 杀菌温度95℃、时间15分钟 年加工量约1.5万吨",
        issues: "公司主要生产袋装榨菜，产品销往全国|低盐榨菜工艺改进|榨菜含盐量偏高，不符合减盐消费趋势|将产品含盐量降到5%以下且口感不变|低盐腌制、发酵工艺;合作社社员种植杨梅3000多亩，鲜果销售期只有二十来天|杨梅鲜果保鲜与延长货架期|鲜果采后腐烂快，外运损耗大|使常温货架期从2天延长到5天以上|杨梅保鲜、果蔬预冷;企业主要生产即食调味笋和笋干|竹笋加工护色与副产物利用|杀菌后笋肉色泽变差，笋壳笋头大量废弃|在保证杀菌效果的同时保持色泽，并把副产物转化为膳食纤维|护色工艺、副产物综合利用;合作社每年有大量次级杨梅卖不上价|杨梅果酒与果汁开发|次果只能低价处理，社员收益低|开发杨梅果酒、果汁产品，次果利用率提高到80%|果酒酿造、杨梅深加工",
        results: "杨梅采后保鲜与冷链贮运技术|杨梅保鲜、果蔬预冷、货架期延长|P;低盐榨菜生物发酵工艺|低盐腌制、榨菜腌制、发酵工艺|P;一种茭白预冷保鲜方法|茭白保鲜、果蔬预冷、货架期延长|P;竹笋加工废弃物膳食纤维提取技术|竹笋加工、副产物综合利用、食品安全检测|P;杨梅果酒控温发酵工艺|果酒酿造、杨梅深加工、风味物质|K;即食笋干低温杀菌保色技术|杀菌工艺、护色工艺、竹笋加工|K" },
    Topic { name: "茶叶种植与加工", discipline: "210", industries: &["01", "13"], weight: 5, agri: true, titles: "高级农艺师 高级农艺师 农艺师 农业技术推广研究员", firms: "茶业 茶叶 生态农业 农业科技", keywords: "茶树栽培 名优绿茶 高山茶 茶叶机械化采摘 扁形茶加工 病虫害绿色防控 茶树品种 茶叶品质评价 夏秋茶利用 红茶加工 茶叶深加工 茶园土壤改良 有机茶 茶叶标准化 良种繁育 农残控制", params: "茶园面积约600亩、海拔500米左右 春茶鲜叶日处理约3吨 杀青温度约280℃、揉捻40分钟 社员120户、年产干茶约18吨",
        issues: "公司在四明山区有茶园600亩，以名优绿茶为主|名优茶机械化采摘|春茶采摘用工紧张、人工成本高|实现机采为主、用工减少一半|茶叶机械化采摘、茶树栽培;合作社主要生产高山云雾绿茶|扁形茶加工品质稳定|加工靠老师傅经验，外形和香气批次差异大|使扁形茶外形和香气批次一致|扁形茶加工、茶叶标准化;企业的夏秋茶鲜叶大量闲置|夏秋茶资源开发利用|只采春茶，夏秋茶弃采，茶园效益低|使夏秋茶利用率提高到60%以上|夏秋茶利用、红茶加工;合作社的茶叶准备出口欧洲|茶园绿色防控与农残控制|病虫害防治用药多，农残检测有风险|使化学农药用量减少30%并稳定符合欧盟标准|病虫害绿色防控、农残控制",
        results: "扁形名优绿茶连续化加工生产线|扁形茶加工、名优绿茶、茶叶标准化|U;茶园病虫害绿色防控技术|病虫害绿色防控、农残控制、有机茶|K;夏秋茶红茶化加工工艺|夏秋茶利用、红茶加工、茶叶品质评价|P;高山茶园土壤酸化改良技术|茶园土壤改良、茶树栽培、高山茶|K;早生茶树新品种“四明早芽”|茶树品种、良种繁育、名优绿茶|V;一种茶叶机采鲜叶分级装置|茶叶机械化采摘、茶叶深加工、名优绿茶|U" },
    Topic { name: "水产养殖", discipline: "240", industries: &["04", "05"], weight: 4, agri: true, titles: "高级工程师 高级工程师 工程师 农业技术推广研究员", firms: "水产 水产养殖 渔业科技 农业开发", keywords: "水产养殖 南美白对虾 池塘养殖 循环水养殖 尾水处理 水质调控 病害防控 饲料投喂 稻渔综合种养 青蟹 加州鲈 苗种繁育 微生物制剂 溶氧监测 鱼菜共生 配合饲料", params: "养殖面积约300亩、放苗密度每亩6万尾 塘口水深1.5米、换水率每天5% 年产商品虾约90吨 增氧机以叶轮式为主、共40台",
        issues: "公司在杭州湾边有对虾养殖塘300亩|对虾养殖病害防控|养殖后期病害多发，成活率不到五成|使养殖成活率提高到75%以上|病害防控、水质调控;合作社社员主要养殖南美白对虾和青蟹|养殖尾水达标处理|养殖尾水达不到新的排放要求|使尾水稳定达到排放标准|尾水处理、微生物制剂;企业主要养殖加州鲈|加州鲈配合饲料替代冰鲜鱼|冰鲜鱼投喂成本高、水质差|全部改用配合饲料、饲料系数降到1.2以下|配合饲料、饲料投喂;合作社社员的养殖塘口分散、管理粗放|池塘溶氧在线监测|高温季节常因缺氧死鱼，损失大|建立溶氧在线监测和自动增氧|溶氧监测、池塘养殖",
        results: "南美白对虾工厂化循环水养殖技术|循环水养殖、南美白对虾、水质调控|K;养殖尾水三池两坝生态处理模式|尾水处理、微生物制剂、池塘养殖|K;一种池塘溶氧在线监测与自动增氧装置|溶氧监测、池塘养殖、水质调控|U;稻虾综合种养技术规程|稻渔综合种养、水产养殖、病害防控|K;加州鲈配合饲料替代冰鲜鱼技术|配合饲料、加州鲈、饲料投喂|P;青蟹人工苗种繁育技术|苗种繁育、青蟹、病害防控|P" },
    Topic { name: "畜禽养殖", discipline: "230", industries: &["03", "05"], weight: 4, agri: true, titles: "高级畜牧师 畜牧师 高级兽医师 兽医师", firms: "牧业 畜牧 生态养殖 农牧科技", keywords: "生猪养殖 蛋鸡养殖 湖羊养殖 粪污资源化 疫病防控 非洲猪瘟防控 饲料配方 智能环控 减抗替抗 生物安全 种猪选育 发酵床 动物营养 疫苗免疫 智能饲喂 热应激", params: "存栏母猪约600头、年出栏1.2万头 鸡舍12栋、存栏蛋鸡约20万羽 粪污日产量约40吨 饲料成本约占养殖成本的65%",
        issues: "公司是存栏母猪600头的规模猪场|仔猪腹泻综合防控|仔猪腹泻死亡率高|使仔猪育成率提高到95%|疫病防控、动物营养;合作社社员分散养殖，粪污处理一直是难题|畜禽粪污资源化利用|粪污处理成本高，周边群众有意见|实现粪污就地资源化利用|粪污资源化、发酵床;企业养殖蛋鸡20万羽|蛋鸡舍智能环控与热应激缓解|夏季热应激严重，产蛋率下降|将夏季产蛋率下降幅度控制在3个百分点以内|智能环控、热应激;合作社养殖湖羊2000多头|湖羊养殖减抗与饲料优化|抗生素使用偏多，饲料成本高|使兽用抗菌药使用量减少30%、料肉比降低5%|减抗替抗、饲料配方",
        results: "规模猪场粪污厌氧发酵资源化利用技术|粪污资源化、生猪养殖、生物安全|P;一种蛋鸡舍智能环境控制装置|智能环控、蛋鸡养殖、热应激|U;湖羊舍饲高效饲养技术|湖羊养殖、饲料配方、动物营养|K;仔猪腹泻综合防控技术|疫病防控、疫苗免疫、生猪养殖|K;养殖场减抗替抗植物提取物饲料添加剂|减抗替抗、动物营养、饲料配方|P;一种发酵床垫料自动翻耙装置|发酵床、粪污资源化、智能饲喂|U" },
    Topic { name: "电子商务与冷链物流", discipline: "630", industries: &["64", "59"], weight: 5, agri: false, titles: "高级经济师 经济师 高级工程师 工程师", firms: "电子商务 供应链管理 冷链物流 网络科技", keywords: "农村电商 直播电商 冷链物流 仓储管理 供应链管理 生鲜配送 品牌营销 数据分析 物流路径优化 跨境电商 预冷技术 温度监控 社区团购 客户关系管理 产地仓 包装设计", params: "旺季日发货约5000单、快递单价约9元 冷库温度0至4℃、容量300吨 年线上销售额约2000万元 运营团队6人、客服外包",
        issues: "公司每年线上销售杨梅约200吨|杨梅电商冷链配送损耗降低|运输途中腐烂多，售后退款多|将运输损耗率降到5%以下|冷链物流、预冷技术;我们是一家小家电企业，天猫和抖音店铺刚起步|家电线上店铺运营提升|店铺流量不少但转化率低|使店铺转化率提高一倍|直播电商、数据分析;企业做农产品社区团购配送，覆盖城区200多个小区|生鲜配送路线优化|配送路线靠司机经验，物流成本高|使单件物流成本降低15%|物流路径优化、生鲜配送;公司主要做跨境电商，卖家居用品|跨境电商库存优化|库存积压严重，资金周转慢|把库存周转天数缩短到45天以内|跨境电商、供应链管理",
        results: "杨梅产地预冷与冷链配送模式|预冷技术、冷链物流、产地仓|K;农产品直播电商运营方法|直播电商、农村电商、品牌营销|K;一种生鲜电商保温包装箱|包装设计、生鲜配送、温度监控|U;基于大数据的电商选品与定价系统|数据分析、跨境电商、客户关系管理|S;县域冷链物流共同配送平台|冷链物流、物流路径优化、仓储管理|S;社区团购订单与仓储协同管理系统|社区团购、仓储管理、供应链管理|S" },
    Topic { name: "医药与医疗器械", discipline: "350", industries: &["27", "35", "84"], weight: 5, agri: false, titles: ENGINEERS, firms: "医疗器械 医用材料 生物医药 药业", keywords: "医疗器械 一次性医用耗材 注册检验 生物相容性 灭菌工艺 药物制剂 中药提取 质量体系 康复器械 体外诊断 医用高分子 洁净车间 临床评价 医用导管 亲水涂层 耗材追溯", params: "十万级洁净车间2000平方米 环氧乙烷灭菌、解析时间14天 年产一次性耗材约1.5亿支 质量部12人、已通过ISO13485认证",
        issues: "公司生产一次性注射器和输液器|环氧乙烷灭菌残留控制|灭菌后解析时间长，残留偶有超标|将环氧乙烷残留稳定控制在限值以内、解析时间缩短一半|灭菌工艺、一次性医用耗材;我院康复科每年收治脑卒中患者一千多人|上肢康复训练器械研制|现有康复器械价格高、不便于居家使用|研制可居家使用的上肢康复训练器|康复器械、临床评价;企业主要生产医用导管|医用导管亲水涂层开发|导管表面润滑性不足，依赖进口涂层|开发国产亲水涂层并通过生物相容性评价|亲水涂层、生物相容性;我院每年使用高值医用耗材数万件|医用耗材全程追溯|耗材从入库到使用难以逐件追溯|实现高值耗材从入库到患者的全程追溯|耗材追溯、质量体系",
        results: "一种防针刺安全注射器|一次性医用耗材、医用高分子、注册检验|U;医用导管亲水涂层制备技术|亲水涂层、医用导管、生物相容性|P;中药材提取物质量控制方法|中药提取、药物制剂、质量体系|P;一种便携式上肢康复训练器|康复器械、临床评价、医疗器械|U;医用耗材环氧乙烷灭菌工艺验证方法|灭菌工艺、洁净车间、注册检验|K;高值医用耗材追溯管理系统|耗材追溯、质量体系、医疗器械|S" },
    Topic { name: "纺织服装", discipline: "540", industries: &["17", "18"], weight: 5, agri: false, titles: ENGINEERS, firms: "纺织 服饰 针织 制衣", keywords: "功能性面料 纺织印染 数码印花 服装设计 针织工艺 染色工艺 节水染色 吸湿排汗 抗菌整理 服装智能制造 吊挂系统 版型设计 再生纤维 面料检测 色牢度 柔性生产", params: "日产面料约15吨、染色浴比1:8 缝制工人约200人、日产服装3000件 染色温度130℃、保温45分钟 年用水量约25万吨",
        issues: "公司主要生产针织运动面料|针织面料色牢度提升|深色面料色牢度不稳定，客户退货|使耐洗和耐摩擦色牢度稳定达到4级|染色工艺、色牢度;我们是一家印染企业，日产面料15吨|印染节水降耗|吨布用水和蒸汽消耗高，环保压力大|使吨布用水减少30%|节水染色、纺织印染;企业主要做工装和校服，订单越来越碎|服装小单快反生产|小批量订单交期长，生产组织混乱|把小批量订单交期缩短到7天|柔性生产、吊挂系统;公司生产运动服装，面料主要外购|抗菌吸湿功能面料开发|功能性面料依赖外购、成本高|开发具有抗菌吸湿功能的自有面料|抗菌整理、吸湿排汗",
        results: "针织物低浴比节水染色工艺|节水染色、染色工艺、纺织印染|P;服装吊挂智能生产管理系统|吊挂系统、服装智能制造、柔性生产|S;再生涤纶吸湿排汗面料开发|再生纤维、吸湿排汗、功能性面料|K;数码印花墨水固色技术|数码印花、色牢度、纺织印染|P;服装三维虚拟试衣与打版系统|版型设计、服装设计、服装智能制造|S;一种抗菌防臭针织面料|抗菌整理、针织工艺、面料检测|P" },
    Topic { name: "软件与数据", discipline: "520", industries: &["65", "64"], weight: 6, agri: false, titles: "高级工程师 工程师 工程师", firms: "信息技术 软件科技 数据科技 网络科技", keywords: "软件开发 大数据分析 人工智能 数据治理 云计算 信息安全 小程序开发 数据可视化 知识图谱 自然语言处理 低代码平台 数据库优化 等级保护 系统集成 智能客服 数字化转型", params: "现有系统12个、数据库约2TB 日活用户约1万人、高峰并发500 开发团队8人、以Java为主 服务器部署在本地机房、没有灾备",
        issues: "公司有财务、销售、生产等十几个业务系统|企业数据中台建设|各业务系统数据孤岛，管理层看不到实时经营数据|建成统一的数据中台和经营驾驶舱|数据治理、数据可视化;我们做家电线上售后服务|智能客服系统建设|客服人员招不满，高峰期电话打不进|用智能客服承接六成以上咨询|智能客服、自然语言处理;企业的订货平台用户越来越多|订货平台性能优化|高峰期系统响应慢，经常卡顿|使高峰期页面响应时间低于1秒|数据库优化、云计算;公司业务系统需要通过等保测评|信息系统安全加固|系统安全漏洞多，等保测评没有通过|通过网络安全等级保护二级测评|信息安全、等级保护",
        results: "面向制造企业的低代码开发平台|低代码平台、软件开发、数字化转型|S;企业经营数据中台软件|数据治理、大数据分析、数据可视化|S;基于知识图谱的智能客服系统|知识图谱、智能客服、自然语言处理|S;中小企业网络安全监测平台|信息安全、等级保护、云计算|S;一种多源异构数据融合方法|大数据分析、数据治理、人工智能|P;县域产业大数据分析平台|大数据分析、数据可视化、数字化转型|S" },
    Topic { name: "新能源与储能", discipline: "480", industries: &["38", "44"], weight: 6, agri: false, titles: ENGINEERS, firms: "新能源 光伏科技 储能科技 能源科技", keywords: "光伏组件 分布式光伏 储能系统 锂电池 电池管理系统 光伏逆变器 储能变流器 微电网 能量管理 充电桩 热失控防护 光储充一体化 虚拟电厂 组件清洗 屋顶光伏 削峰填谷", params: "屋顶面积约2万平方米、装机2MW 储能容量1MWh、充放电倍率0.5C 年用电量约800万千瓦时 电芯为磷酸铁锂、循环寿命6000次",
        issues: "公司厂房屋顶装了2MW分布式光伏|屋顶光伏发电效率提升|发电量比设计值低一成多|使光伏系统效率提高8%|分布式光伏、组件清洗;我们生产工商业储能柜|储能电池热失控预警|热失控风险是客户最担心的问题|实现热失控早期预警、提前10分钟报警|热失控防护、电池管理系统;企业年用电量约800万千瓦时，想配置储能|工商业储能削峰填谷|峰谷电价利用不充分，电费负担重|使企业年用电成本降低12%|削峰填谷、能量管理;公司生产电动车充电桩|光储充一体化方案开发|单一充电桩产品竞争激烈、利润薄|开发光储充一体化产品|光储充一体化、储能变流器",
        results: "工商业储能系统能量管理策略|能量管理、削峰填谷、储能系统|K;一种储能电池热失控早期预警装置|热失控防护、锂电池、电池管理系统|U;分布式光伏组件智能清洗机器人|组件清洗、分布式光伏、光伏组件|P;光储充一体化微电网控制系统|光储充一体化、微电网、充电桩|S;锂电池组主动均衡电池管理系统|电池管理系统、锂电池、储能系统|P;企业用能优化与虚拟电厂接入平台|虚拟电厂、能量管理、屋顶光伏|S" },
];

/// Institutions by region (Yuyao, Ningbo, Zhejiang, elsewhere): for every topic, for farming
/// topics, for industry topics; `name@word` only for topics whose name holds the word.
#[rustfmt::skip]
const INSTITUTIONS: [[&str; 3]; 4] = [
    ["宁波工程学院余姚研究院 余姚市科技创新服务中心", "余姚市农业技术推广中心 余姚市林特技术推广中心@茶叶 余姚市农业科学研究所", "余姚市机器人研究中心@装备 余姚市模具技术服务中心@模具"],
    ["宁波大学 浙江万里学院 浙大宁波理工学院 宁波诺丁汉大学 浙江大学宁波“五位一体”校区", "宁波市农业科学研究院 宁波市农业技术推广总站 宁波市海洋与渔业研究院@水产", "中国科学院宁波材料技术与工程研究所 宁波工程学院 宁波职业技术学院 宁波工业互联网研究院"],
    ["浙江大学 浙江工业大学 浙江科技大学 浙江工商大学 浙江师范大学", "浙江农林大学 浙江省农业科学院 中国农业科学院茶叶研究所@茶叶 浙江海洋大学@水产 浙江省农业技术推广中心", "浙江理工大学 杭州电子科技大学 中国计量大学 浙江省机电设计研究院"],
    ["上海交通大学 华中科技大学 同济大学 江南大学 华东理工大学 南京大学", "南京农业大学 中国农业大学 华中农业大学 中国水产科学研究院东海水产研究所@水产", "东华大学 合肥工业大学 上海大学 哈尔滨工业大学 中国科学院上海光学精密机械研究所@光"],
];
/// Where the engineers of invented companies work, by region.
#[rustfmt::skip]
const CITIES: [&str; 4] = ["余姚市", "宁波", "杭州 绍兴 嘉兴 台州 湖州 温州 金华", "上海 苏州 无锡 深圳 东莞 合肥 南京"];
const PROFESSORS: &str = "教授 教授 教授 副教授 副教授 副教授 副教授 讲师 讲师 研究员 副研究员";
const RESEARCHERS: &str = "研究员 副研究员 副研究员 助理研究员 高级工程师 正高级工程师";
/// Common surnames, the most frequent first.
const SURNAMES: &str = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦方白邹孟熊秦邱江尹薛段雷侯龙史陶黎贺顾毛郝龚邵万钱严武戴莫孔汤";
const GIVEN: &str = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚华建国文辉力鹏宇浩凯晨欣怡婷雪琳俊峰斌波宁海燕红亮成志新卫东晓丹蕾颖佳宏忠林坤昊哲睿瑞涵博航思远立春梅兰云飞鑫慧倩萍荣晶晖";
/// The two halves of invented trade names (20 × 20), picked to avoid well-known marks.
#[rustfmt::skip]
const BRAND: [&str; 2] = ["恒鑫宏博康晟永骏弘锦科凯嘉昌舜姚明泓睿晶", "旭霖远诚澜程岳昇航创茂峰晖邦腾翔锐川驰拓"];
/// Mainland mobile prefixes (139 is the demo citizens').
const MOBILE: &str = "130 131 132 133 134 135 136 137 138 150 151 152 153 155 156 157 158 159 180 181 182 183 184 185 186 187 188 189 191 193 195 196 197 198 199";
/// The enterprises that are not companies, each the second of its topic: topic, name, kind,
/// town, industry.
#[rustfmt::skip]
const SPECIAL: [(&str, &str, &str, usize, &str); 6] = [
    ("节能环保与污水处理", "余姚市农村生活污水运维管理中心", "institution", 0, "46"),
    ("农产品加工", "余姚市梁弄镇杨梅专业合作社", "cooperative", 13, "01"),
    ("茶叶种植与加工", "余姚市大岚镇高山茶叶专业合作社", "cooperative", 14, "01"),
    ("水产养殖", "余姚市小曹娥镇水产养殖专业合作社", "cooperative", 18, "04"),
    ("畜禽养殖", "余姚市鹿亭乡湖羊养殖专业合作社", "cooperative", 16, "03"),
    ("医药与医疗器械", "余姚市姚北康复医院", "institution", 17, "84"),
];
const STATUS: &str = "自身技术力量有限，一直没有找到好的解决办法;这个问题已经影响到日常运营;找过几家供应商，方案投入都偏大;今年以来问题更加突出;内部讨论过几轮，始终没有形成可行的方案";
const HOPE: &str =
    "希望与高校或科研院所合作，借助;希望找到有经验的专家团队，通过;拟寻求外部技术力量，运用";
const EXTRA: &str = "可提供试验场地、样品和两名技术人员全程配合;希望三个月内完成小试，效果达标后再追加投入;如效果达标，后续愿意按新增效益的一定比例支付提成;合作方需签订保密协议，相关数据不得对外披露";
/// Weights of `BANDS` for demands' budgets and achievements' prices, and the bands' ranges in
/// units of ten thousand yuan (万元).
const BUDGET_WEIGHTS: [u32; 6] = [25, 35, 18, 6, 1, 15];
const PRICE_WEIGHTS: [u32; 6] = [15, 30, 25, 10, 3, 17];
const BAND_WAN: [(u32, u32); 5] = [(3, 9), (10, 49), (50, 199), (200, 999), (1000, 3000)];
/// Weights of readiness levels 1 to 9: most achievements are between 4 and 7.
const TRL_WEIGHTS: [u32; 9] = [1, 2, 4, 12, 18, 22, 20, 13, 8];
/// Text templates: `{0}`, `{1}`… are filled in.
const PRACTICE: &str = "在{0}领域一线工作{3}年，熟悉{1}和{2};长期负责{1}和{2}相关工作，积累了丰富的现场经验;从事{1}工作多年，主持完成{2}方面的技术改造项目{4}项";
const LEAD: &str = "长期从事{1}与{2}研究;主要研究方向为{1}、{2};近年来专注于{1}和{2}方面的研究";
const RECORD: &str =
    "主持或参与国家及省部级科研项目{4}项;发表相关学术论文{4}篇;获授权发明专利{4}项";
const OFFER: &str = "可为企业提供{5}方面的技术咨询和联合攻关;能够帮助企业解决{5}中的实际问题;可承接{5}相关的技术开发、检测分析和人才培训;欢迎在{5}方面有需求的企业联系合作";
const DEMAND_TITLES: &str =
    "{0}技术攻关;{0}技术合作需求;寻求{0}解决方案;征集{0}技术方案;{0}合作研发";
const FOCUS: &str = "重点解决{0}和{1}中的关键问题;围绕{0}、{1}形成了成套技术";
const MATURITY: &str = "目前处于实验室原理验证阶段;目前处于实验室原理验证阶段;已完成原理样机验证;已完成实验室小试;已完成中试验证;已在{0}家企业开展试用;已在{0}家企业示范应用;已实现产业化应用，累计服务企业{0}家;已实现规模化应用，累计服务企业{0}0余家";
const DEALS: &str = "可整体转让;可许可企业使用;欢迎企业联合开发、共同推进产业化";

/// An item drawn uniformly (one draw, where `choose` would draw once per item).
fn any<I: Iterator + Clone>(rng: &mut StdRng, mut items: I) -> Option<I::Item> {
    let count = items.clone().count().max(1);
    items.nth(rng.gen_range(0..count))
}

/// One item of a list separated by `sep`.
fn one(rng: &mut StdRng, list: &'static str, sep: char) -> &'static str {
    any(rng, list.split(sep)).unwrap_or("")
}

/// The fields of item `k` (modulo their count) of a `;`-separated list of `|`-separated items.
fn item<const N: usize>(list: &'static str, k: usize) -> [&'static str; N] {
    let count = list.split(';').count();
    let mut fields = list.split(';').nth(k % count).unwrap_or("").split('|');
    std::array::from_fn(|_| fields.next().unwrap_or(""))
}

/// `template` with its slots `{0}`, `{1}`… filled.
fn fill(template: &str, slots: &[&str]) -> String {
    (slots.iter().enumerate()).fold(template.to_string(), |text, (i, slot)| {
        text.replace(&format!("{{{i}}}"), slot)
    })
}

/// An index drawn with the given weights.
fn weighted(rng: &mut StdRng, weights: &[u32]) -> usize {
    WeightedIndex::new(weights).map_or(0, |w| rng.sample(w))
}

/// A surname (the common ones far more often) and a given name of one or two characters.
fn person(rng: &mut StdRng) -> String {
    let u: f64 = rng.gen();
    let skewed = (u * u * SURNAMES.chars().count() as f64) as usize;
    let mut name: String = SURNAMES.chars().nth(skewed).into_iter().collect();
    let given = 1 + usize::from(rng.gen_bool(0.75));
    name.extend((0..given).filter_map(|_| any(rng, GIVEN.chars())));
    name
}

/// A mobile number whose last eight digits are a bijection of `serial` (below 10⁸): distinct
/// serials never share a number, whatever prefixes they draw.
fn phone(rng: &mut StdRng, serial: u64) -> String {
    let tail = (serial % 100_000_000 * 73_856_093 + 37_580_219) % 100_000_000;
    format!("{}{tail:08}", one(rng, MOBILE, ' '))
}

/// `experts` experts (`DEMO_EXPERTS` for the demo and the benchmarks), `ACHIEVEMENTS`
/// achievements, `DEMANDS` demands and `ENTERPRISES` enterprises. The first 21 experts cover the
/// 21 topics, so from 21 experts up every demand has experts of its field. Each part draws from
/// its own stream: the enterprises and the demands do not depend on `experts`.
pub fn pool(seed: u64, experts: usize) -> Pool {
    let stream = |k: u64| StdRng::seed_from_u64(seed ^ k.wrapping_mul(0x9E37_79B9_7F4A_7C15));
    let mut rng = stream(1);
    let mut by_topic = vec![Vec::new(); TOPICS.len()];
    let experts: Vec<PoolExpert> = (0..experts)
        .map(|i| {
            let (expert, t) = expert(&mut rng, i);
            by_topic[t].push(i);
            expert
        })
        .collect();
    let mut rng = stream(2);
    let enterprises: Vec<PoolEnterprise> =
        (0..ENTERPRISES).map(|e| enterprise(&mut rng, e)).collect();
    let mut rng = stream(3);
    let demands = (0..DEMANDS)
        .map(|i| demand(&mut rng, i, &enterprises))
        .collect();
    let mut rng = stream(4);
    let achievements = (0..ACHIEVEMENTS)
        .map(|j| achievement(&mut rng, j, &experts, &by_topic))
        .collect();
    Pool {
        experts,
        achievements,
        demands,
        enterprises,
    }
}

fn expert(rng: &mut StdRng, i: usize) -> (PoolExpert, usize) {
    let t = (i < TOPICS.len()).then_some(i);
    let t = t.unwrap_or_else(|| weighted(rng, &TOPICS.map(|t| t.weight)));
    let topic = &TOPICS[t];
    let town = Region::Local(rng.gen_range(0..TOWNS.len()));
    let slot = weighted(rng, &[15, 35, 35, 15]);
    let region = [town, Region::Ningbo, Region::Province, Region::Elsewhere][slot];
    let (institution, title, practice) = affiliation(rng, topic, slot);
    let count = [1, 2, 3][weighted(rng, &[50, 35, 15])].min(topic.industries.len());
    let industries = topic.industries.choose_multiple(rng, count);
    let mut industries: Vec<&str> = industries.copied().collect();
    industries.sort_unstable();
    let vocabulary: Vec<&str> = topic.keywords.split(' ').collect();
    let count = rng.gen_range(3..=6).min(vocabulary.len());
    let keywords = vocabulary.choose_multiple(rng, count);
    let keywords: Vec<String> = keywords.map(|k| k.to_string()).collect();
    let code = format!("E{:06}", i + 1);
    let expert = PoolExpert {
        email: format!("{}@expert.example.cn", code.to_ascii_lowercase()),
        code,
        name: person(rng),
        title,
        institution,
        discipline: topic.discipline,
        industries,
        summary: expert_summary(rng, topic.name, &keywords, practice),
        keywords,
        region,
        availability: ["available", "limited", "unavailable"][weighted(rng, &[70, 22, 8])],
        phone: phone(rng, i as u64),
    };
    (expert, t)
}

/// The institution, the title, and whether the expert is a practitioner (an engineer, an
/// agronomist) rather than an academic.
fn affiliation(rng: &mut StdRng, topic: &Topic, slot: usize) -> (String, String, bool) {
    if rng.gen_range(0..100) < if topic.agri { 12 } else { 25 } {
        let trade: String = BRAND.iter().filter_map(|b| any(rng, b.chars())).collect();
        let (city, firm) = (one(rng, CITIES[slot], ' '), one(rng, topic.firms, ' '));
        let title = one(rng, topic.titles, ' ');
        return (format!("{city}{trade}{firm}有限公司"), title.into(), true);
    }
    let own = INSTITUTIONS[slot][if topic.agri { 1 } else { 2 }];
    let all = INSTITUTIONS[slot][0].split(' ').chain(own.split(' '));
    let fits = |p: &&str| p.split_once('@').is_none_or(|f| topic.name.contains(f.1));
    let place = any(rng, all.filter(fits)).unwrap_or("");
    let place = place.split('@').next().unwrap_or(place);
    let research = ["研究院", "研究所", "科学院"].map(|w| place.contains(w));
    let (titles, practice) = if research.contains(&true) {
        (RESEARCHERS, false)
    } else if place.ends_with('心') || place.ends_with('站') {
        (topic.titles, true)
    } else {
        (PROFESSORS, false)
    };
    (place.into(), one(rng, titles, ' ').into(), practice)
}

fn expert_summary(rng: &mut StdRng, field: &str, keywords: &[String], practice: bool) -> String {
    let k = |j: usize| keywords.get(j).map_or("", String::as_str);
    let (years, count) = (rng.gen_range(8..=30), rng.gen_range(3..=30));
    let (years, count) = (years.to_string(), count.to_string());
    let last = k(keywords.len().saturating_sub(1));
    let slots = [field, k(0), k(1), &years, &count, last];
    let first = if practice {
        fill(one(rng, PRACTICE, ';'), &slots)
    } else {
        let lead = fill(one(rng, LEAD, ';'), &slots);
        format!("{lead}，{}", fill(one(rng, RECORD, ';'), &slots))
    };
    format!("{first}。{}。", fill(one(rng, OFFER, ';'), &slots))
}

/// Enterprise `e` works in topic `e % 21`; a topic's second is a cooperative or an institution
/// where `SPECIAL` says so.
fn enterprise(rng: &mut StdRng, e: usize) -> PoolEnterprise {
    let topic = &TOPICS[e % TOPICS.len()];
    let second = e >= TOPICS.len();
    let special = SPECIAL.iter().find(|s| s.0 == topic.name && second);
    let (name, kind, town, industry) = match special {
        Some(&(_, name, kind, town, industry)) => (name.to_string(), kind, town, industry),
        None => {
            // Distinct trade names: enterprise e takes pair (137e + 11) mod 400 of the 20 × 20.
            let pair = (e * 137 + 11) % 400;
            let trade: String = (0..2)
                .filter_map(|h| BRAND[h].chars().nth([pair / 20, pair % 20][h]))
                .collect();
            let city = ["余姚市", "宁波"][weighted(rng, &[3, 2])];
            let name = format!("{city}{trade}{}有限公司", one(rng, topic.firms, ' '));
            let industry = topic.industries[rng.gen_range(0..topic.industries.len().min(2))];
            (name, "company", rng.gen_range(0..TOWNS.len()), industry)
        }
    };
    PoolEnterprise {
        credit_code: credit_code(rng, kind),
        name,
        kind,
        industry,
        town,
        contact_name: person(rng),
        contact_phone: phone(rng, 50_000_000 + e as u64),
    }
}

/// GB 32100-2015's alphabet (no I, O, S, V, Z) and the weights of the first 17 characters.
const USCC_CHARS: &[u8; 31] = b"0123456789ABCDEFGHJKLMNPQRTUWXY";
#[rustfmt::skip]
const USCC_WEIGHTS: [u32; 17] = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28];

/// The check character of a unified social credit code's first 17 characters; `None` when they
/// are not 17 characters of the code's alphabet.
pub fn credit_code_check(first17: &str) -> Option<char> {
    if first17.len() != 17 {
        return None;
    }
    let mut sum = 0;
    for (b, w) in first17.bytes().zip(USCC_WEIGHTS) {
        sum += USCC_CHARS.iter().position(|&c| c == b)? as u32 * w;
    }
    Some(char::from(USCC_CHARS[((31 - sum % 31) % 31) as usize]))
}

pub fn credit_code_valid(code: &str) -> bool {
    code.len() == 18
        && code.is_ascii()
        && credit_code_check(&code[..17]) == code[17..].chars().next()
}

/// GB 11714's check character of an organisation code's eight characters.
fn org_code_check(body: &str) -> char {
    let weights = [3, 7, 9, 10, 5, 8, 4, 2];
    let sum: u32 = (body.chars().zip(weights))
        .map(|(c, w)| c.to_digit(36).unwrap_or(0) * w)
        .sum();
    char::from(b"0123456789X0"[(11 - sum % 11) as usize])
}

/// Registered in Yuyao (330281): companies (91) and cooperatives (93) by the market regulator,
/// public institutions (12) by the establishment office; the organisation code in the middle
/// carries its own GB 11714 check character.
fn credit_code(rng: &mut StdRng, kind: &str) -> String {
    let new_style = |rng: &mut StdRng| -> String {
        let tail: String = (0..5)
            .map(|_| char::from(USCC_CHARS[rng.gen_range(0..31)]))
            .collect();
        format!("MA2{tail}")
    };
    let (head, body) = match kind {
        "institution" => ("12", rng.gen_range(40_000_000..50_000_000).to_string()),
        "cooperative" => ("93", new_style(rng)),
        _ if rng.gen_bool(0.6) => ("91", new_style(rng)),
        _ => ("91", rng.gen_range(10_000_000..80_000_000).to_string()),
    };
    let first17 = format!("{head}330281{body}{}", org_code_check(&body));
    let check = credit_code_check(&first17).unwrap_or('0');
    format!("{first17}{check}")
}

/// Demand `i` is case `i / 21` of topic `i % 21`; odd cases come from the topic's second
/// enterprise (the one `SPECIAL` may make a cooperative or an institution).
fn demand(rng: &mut StdRng, i: usize, enterprises: &[PoolEnterprise]) -> PoolDemand {
    let (t, k) = (i % TOPICS.len(), i / TOPICS.len());
    let [opening, short, problem, goal, using] = item(TOPICS[t].issues, k);
    let second = t + TOPICS.len();
    let enterprise = [t, second][usize::from(k % 2 == 1 && second < enterprises.len())];
    let industry = enterprises.get(enterprise).map_or("73", |e| e.industry);
    let title = fill(one(rng, DEMAND_TITLES, ';'), &[short]);
    let (status, hope) = (one(rng, STATUS, ';'), one(rng, HOPE, ';'));
    let summary = format!("{opening}，{problem}，{status}。{hope}{using}等技术，{goal}。");
    let band = weighted(rng, &BUDGET_WEIGHTS);
    let (lo, hi) = BAND_WAN.get(band).copied().unwrap_or((20, 300));
    let (amount, share) = (rng.gen_range(lo..=hi), rng.gen_range(3..=7) * 10);
    let budget = match band {
        5 => "预算可面议，视技术方案和实际效果确定".to_string(),
        _ => format!("项目预算约{amount}万元，其中约{share}%用于设备和材料，其余为技术服务费"),
    };
    let loss = amount * rng.gen_range(2..=5);
    let facts = TOPICS[t].params.split(' ').choose_multiple(rng, 2);
    let detail = format!(
        "基本情况：{}。该问题每年造成的损失约{loss}万元。{budget}。{}。",
        facts.join("；"),
        one(rng, EXTRA, ';')
    );
    PoolDemand {
        title,
        summary,
        detail,
        industry,
        budget_band: BANDS[band],
        deadline_days: rng.gen_range(20..=240),
        enterprise,
    }
}

/// The check digit of a CNIPA application number's twelve digits: weighted 2–9, 2–5, mod 11.
fn patent_check(digits: &str) -> char {
    let weights = [2, 3, 4, 5, 6, 7, 8, 9, 2, 3, 4, 5];
    let sum: u32 = (digits.chars().zip(weights))
        .map(|(c, w)| c.to_digit(10).unwrap_or(0) * w)
        .sum();
    char::from(b"0123456789X"[(sum % 11) as usize])
}

fn ip_number(rng: &mut StdRng, ip: &str) -> (&'static str, String) {
    let (year, serial) = (rng.gen_range(2016..=2024), rng.gen_range(0..10_000_000));
    let patent = |kind: u32| {
        let digits = format!("{year}{kind}{serial:07}");
        format!("ZL{digits}.{}", patent_check(&digits))
    };
    let software = format!("软著登字第{}号", serial % 9_000_000 + 1_000_000);
    let variety = format!("CNA{year}{:04}.{}", serial % 10_000, serial % 7);
    match ip {
        "P" => ("invention_patent", patent(1)),
        "U" => ("utility_model", patent(2)),
        "S" => ("software_copyright", software),
        "V" => ("plant_variety", variety),
        _ => ("know_how", "技术秘密（未公开）".to_string()),
    }
}

/// Achievement `j` is result `j / 21` of topic `j % 21`, owned by an expert of that topic.
fn achievement(
    rng: &mut StdRng,
    j: usize,
    experts: &[PoolExpert],
    by_topic: &[Vec<usize>],
) -> PoolAchievement {
    let t = j % TOPICS.len();
    let topic = &TOPICS[t];
    let [title, words, ip] = item(topic.results, j / TOPICS.len());
    let owner_expert = by_topic[t].choose(rng).copied().unwrap_or(0);
    let mut keywords: Vec<String> = words.split('、').map(str::to_string).collect();
    let extra = one(rng, topic.keywords, ' ');
    if rng.gen_bool(0.5) && !words.split('、').any(|w| w == extra) {
        keywords.push(extra.to_string());
    }
    let trl = weighted(rng, &TRL_WEIGHTS) as u8 + 1;
    let (ip_kind, ip_number) = ip_number(rng, ip);
    let deal = weighted(rng, &[40, 35, 25]);
    let team = experts.get(owner_expert).map_or_else(
        || format!("{}领域研究", topic.name),
        |e| format!("{}{}", e.institution, e.name),
    );
    let k = |n: usize| keywords.get(n).map_or("", String::as_str);
    let focus = fill(one(rng, FOCUS, ';'), &[k(0), k(1)]);
    let firms = rng.gen_range(2..=9).to_string();
    let [stage] = item(MATURITY, usize::from(trl) - 1);
    let (stage, [deal_text]) = (fill(stage, &[&firms]), item(DEALS, deal));
    let summary = format!("该成果由{team}团队研发，{focus}。{stage}，{deal_text}。");
    PoolAchievement {
        code: format!("A{:04}", j + 1),
        title: title.to_string(),
        summary,
        keywords,
        industry: topic.industries.choose(rng).copied().unwrap_or("73"),
        discipline: topic.discipline,
        trl,
        ip_kind,
        ip_number,
        licensing: ["transfer", "licence", "joint_development"][deal],
        price_band: BANDS[weighted(rng, &PRICE_WEIGHTS)],
        owner_expert,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use domain::market::codes::{DISCIPLINES, INDUSTRIES};
    use std::collections::HashSet;
    use std::sync::OnceLock;

    fn demo() -> &'static Pool {
        static POOL: OnceLock<Pool> = OnceLock::new();
        POOL.get_or_init(|| pool(7, DEMO_EXPERTS))
    }

    #[test]
    fn sizes_and_the_same_seed_gives_the_same_pool() {
        let p = demo();
        assert_eq!((p.experts.len(), p.achievements.len()), (29_770, 112));
        assert_eq!((p.demands.len(), p.enterprises.len()), (84, 40));
        let again = pool(7, DEMO_EXPERTS);
        assert_eq!(again.experts.first(), p.experts.first());
        assert_eq!(again.experts.last(), p.experts.last());
        assert_eq!(&again, p);
        assert_eq!(p.experts[29_769].code, "E029770");
        let other = pool(8, 50);
        assert_ne!(other.experts[..21], p.experts[..21]);
        assert_eq!(other.demands, pool(8, 21).demands); // whatever the pool's size
    }

    #[test]
    fn phones_emails_and_credit_codes_are_valid_and_unique() {
        // GB 32100-2015's example, and a registered company's code.
        assert!(credit_code_valid("91350100M000100Y43"));
        assert!(credit_code_valid("91110108551385082Q"));
        assert!(!credit_code_valid("91350100M000100Y44"));
        assert!(!credit_code_valid("91350100M000101Y43"));
        assert!(!credit_code_valid("91350100M000100Y4"));
        assert!(!credit_code_valid("9135010OM000100Y43")); // O: not in the alphabet
        let p = demo();
        let (mut seen, mut kinds) = (HashSet::new(), [0; 3]);
        let contacts = p.enterprises.iter().map(|e| &e.contact_phone);
        for phone in p.experts.iter().map(|e| &e.phone).chain(contacts) {
            let b = phone.as_bytes();
            assert!(b.len() == 11 && b.iter().all(u8::is_ascii_digit));
            assert!(b[0] == b'1' && matches!(b[1], b'3' | b'5' | b'8' | b'9'));
            assert!(seen.insert(phone), "{phone} twice");
        }
        for e in &p.experts {
            assert!(e.email.is_ascii() && seen.insert(&e.email));
        }
        for e in &p.enterprises {
            let c = &e.credit_code;
            assert!(credit_code_valid(c), "{c}");
            let org = org_code_check(&c[8..16]);
            assert_eq!(c[16..17], org.to_string(), "{c}");
            let (head, kind) = match e.kind {
                "company" => ("91330281", 0),
                "cooperative" => ("93330281", 1),
                _ => ("12330281", 2),
            };
            assert!(c.starts_with(head), "{c} {}", e.kind);
            assert!(seen.insert(c) && seen.insert(&e.name));
            kinds[kind] += 1;
        }
        assert_eq!(kinds, [34, 4, 2]);
    }

    #[test]
    fn patent_numbers_carry_their_check_digits() {
        assert_eq!(patent_check("201080063196"), '9'); // CN 201080063196.9
        let achievements = &demo().achievements;
        for a in achievements {
            let n = &a.ip_number;
            let kind = match a.ip_kind {
                "invention_patent" => "1",
                "utility_model" => "2",
                _ => continue,
            };
            assert!(n.len() == 16 && &n[6..7] == kind, "{n}");
            let check = patent_check(&n[2..14]);
            assert_eq!(n[14..], format!(".{check}"), "{n}");
        }
        let kinds = achievements.iter().map(|a| a.ip_kind);
        assert_eq!(kinds.collect::<HashSet<_>>().len(), 5);
    }

    #[test]
    fn every_demand_has_experts_of_its_topic_sharing_words() {
        let p = demo();
        for (i, d) in p.demands.iter().enumerate() {
            let topic = &TOPICS[i % TOPICS.len()];
            let shares = |e: &&PoolExpert| {
                let mut words = e.keywords.iter();
                e.discipline == topic.discipline && words.any(|k| d.summary.contains(&k[..]))
            };
            let sharing = p.experts.iter().filter(shares).count();
            assert!(sharing >= 20, "{}: {sharing}", d.title);
        }
        let small = pool(3, 21).experts;
        for topic in &TOPICS {
            let d = topic.discipline;
            assert!(small.iter().any(|e| e.discipline == d));
        }
    }

    #[test]
    fn codes_are_on_the_lists_and_texts_present_and_of_the_right_length() {
        let industry = |c| INDUSTRIES.iter().any(|i| i.code == c);
        let discipline = |c| DISCIPLINES.iter().any(|d| d.code == c);
        let n = |s: &str| s.chars().count();
        let full = |s: &[&String]| s.iter().all(|s| !s.is_empty());
        let p = demo();
        for e in &p.experts {
            let texts = [&e.code, &e.title, &e.institution, &e.summary];
            assert!(full(&texts) && (2..=3).contains(&n(&e.name)));
            let keywords: Vec<&String> = e.keywords.iter().collect();
            assert!((3..=6).contains(&e.keywords.len()) && full(&keywords));
            let town = matches!(e.region, Region::Local(t) if t >= 21);
            assert!(!town && !e.email.is_empty());
            assert!(discipline(e.discipline), "{e:?}");
            assert!((1..=3).contains(&e.industries.len()));
            assert!(e.industries.iter().all(|&c| industry(c)));
        }
        for d in &p.demands {
            assert!((1..=40).contains(&n(&d.title)), "{}", d.title);
            assert!((60..=200).contains(&n(&d.summary)), "{}", d.summary);
            assert!((80..=300).contains(&n(&d.detail)), "{}", d.detail);
            assert!((20..=240).contains(&d.deadline_days));
            assert_eq!(p.enterprises[d.enterprise].industry, d.industry);
            assert!(BANDS.contains(&d.budget_band));
        }
        for a in &p.achievements {
            let texts = [&a.title, &a.summary, &a.ip_number];
            assert!(a.code.len() == 5 && full(&texts), "{a:?}");
            assert!((3..=4).contains(&a.keywords.len()), "{a:?}");
            assert!((1..=9).contains(&a.trl) && BANDS.contains(&a.price_band));
            assert!(industry(a.industry) && discipline(a.discipline));
            assert_eq!(p.experts[a.owner_expert].discipline, a.discipline);
        }
        for e in &p.enterprises {
            let texts = [&e.name, &e.contact_name, &e.contact_phone];
            assert!(full(&texts) && e.town < TOWNS.len(), "{e:?}");
            assert!(industry(e.industry));
        }
    }

    #[test]
    fn shares_are_near_their_targets() {
        let p = demo();
        let near = |f: &dyn Fn(&PoolExpert) -> bool, want: f64| {
            let got = p.experts.iter().filter(|e| f(e)).count();
            let got = got as f64 / 29_770.0;
            assert!((got - want).abs() < 0.015, "{got} for {want}");
        };
        near(&|e| matches!(e.region, Region::Local(_)), 0.15);
        near(&|e| e.region == Region::Ningbo, 0.35);
        near(&|e| e.region == Region::Province, 0.35);
        near(&|e| e.availability == "available", 0.70);
        near(&|e| e.availability == "limited", 0.22);
        let middle = p.achievements.iter().filter(|a| a.trl >= 4 && a.trl <= 7);
        assert!(middle.count() > 60);
    }

    #[test]
    fn the_vocabulary_holds_together() {
        for t in &TOPICS {
            let vocabulary: Vec<&str> = t.keywords.split(' ').collect();
            let distinct: HashSet<&&str> = vocabulary.iter().collect();
            assert_eq!(distinct.len(), vocabulary.len(), "{}", t.name);
            assert!((15..=30).contains(&vocabulary.len()), "{}", t.name);
            for list in [t.titles, t.firms, t.params, t.keywords] {
                assert!(list.split(' ').all(|w| !w.is_empty()), "{list}");
            }
            assert_eq!(t.issues.split(';').count(), 4, "{}", t.name);
            assert_eq!(t.results.split(';').count(), 6, "{}", t.name);
            for k in 0..6 {
                let issue: [&str; 5] = item(t.issues, k);
                let [title, words, ip] = item(t.results, k);
                assert!(issue.iter().all(|f| !f.is_empty()), "{}", t.name);
                assert!(!title.is_empty() && ip.len() == 1 && "PUSVK".contains(ip));
                for w in issue[4].split('、').chain(words.split('、')) {
                    assert!(vocabulary.contains(&w), "{}: {w}", t.name);
                }
            }
        }
        for s in SPECIAL {
            let t = TOPICS.iter().position(|t| t.name == s.0);
            assert!(t.is_some_and(|t| t + 21 < ENTERPRISES));
        }
        for place in INSTITUTIONS.iter().flatten().flat_map(|l| l.split(' ')) {
            let word = place.split_once('@').map_or("", |p| p.1);
            assert!(TOPICS.iter().any(|t| t.name.contains(word)), "{place}");
        }
    }
}
