//! Open data (开放数据), public: predefined tables only, by city → town, as a page and as CSV,
//! XLSX and JSON with a `datapackage.json`. Every count of 1 to k−1 residents is shown `<k`
//! and further cells are withheld (`×`) until none can be worked out from the rest
//! (`domain::citydata::disclosure`, which also says how that is checked); points follow the
//! pattern of their counts. Each table names its rule, its k and the date of its data.

use crate::auth::PageCtx;
use crate::error::{AppError, Path};
use crate::frame::views::render;
use crate::frame::PageResult;
use crate::AppState;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use domain::citydata::disclosure::{
    money_publishable, protect, protect_with, Mark, Table, K_MIN, MONEY_MIN_CONTRIBUTORS,
    MONEY_TOP_TWO_MAX_PERCENT,
};
use minijinja::context;
use moralbank_store::citydata::open::Figures;
use serde::Serialize;
use serde_json::json;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/open-data", get(page))
        .route("/open-data/{file}", get(file))
}

/// The threshold: counts below it are not published (`[web] open_data_k`, checked at start;
/// never below the rule's minimum here either).
fn k(state: &AppState) -> i64 {
    state.config.open_data_k.max(K_MIN)
}

/// The page's grid of a table: each row's label and its cells.
pub type Grid = Vec<(String, Vec<String>)>;

/// A published table: long rows (one figure per column) and, for the page, the same as a grid.
#[derive(Debug, Clone, Serialize)]
pub struct Published {
    pub name: &'static str,
    pub title_zh: &'static str,
    pub title_en: &'static str,
    pub k: i64,
    pub rule: String,
    pub as_of: String,
    pub header: Vec<String>,
    pub rows: Vec<Vec<String>>,
    /// Column labels and rows (label, cells) of the page's grid.
    pub grid_columns: Vec<String>,
    pub grid: Grid,
    /// Its money figures follow the money rule too (the page says so beside the k rule).
    pub money: bool,
}

fn rule(k: i64) -> String {
    format!(
        "counts of 1 to {} residents shown as <{k}; further cells withheld (×) so that none can be worked out from the published figures and totals; points withheld with their counts",
        k - 1
    )
}

fn shown(t: &Table, p: &[Vec<Mark>], (i, j): (usize, usize), k: i64, count: bool) -> String {
    match p[i][j] {
        Mark::Shown => t.v[i][j].to_string(),
        Mark::Small if count => format!("<{k}"),
        _ => "×".into(),
    }
}

/// A one-column-per-figure table by town and the city: its long rows (code, names, figures)
/// and the page's grid. `figures` are the tables published with their pattern, each with
/// whether it is a count (`<k`) or a sum withheld with its count (`×`).
fn by_town(
    f: &Figures,
    figures: &[(&Table, bool)],
    p: &[Vec<Mark>],
    k: i64,
) -> (Vec<Vec<String>>, Grid) {
    let mut rows = Vec::new();
    let mut grid = Vec::new();
    for i in 0..=f.towns.len() {
        let (code, zh, en) = match f.towns.get(i) {
            Some(t) => (t.code.clone(), t.name_zh.clone(), t.name_en.clone()),
            None => ("".into(), "全市".into(), "City".into()),
        };
        let values: Vec<String> = figures
            .iter()
            .map(|(t, count)| shown(t, p, (i, 0), k, *count))
            .collect();
        grid.push((zh.clone(), values.clone()));
        rows.push([vec![code, zh, en], values].concat());
    }
    (rows, grid)
}

pub fn residents_by_town(f: &Figures, k: i64, as_of: &str) -> Published {
    let t = Table::new(&f.residents.iter().map(|&n| vec![n]).collect::<Vec<_>>());
    let p = protect(&t, &[], k);
    let (rows, grid) = by_town(f, &[(&t, true)], &p, k);
    Published {
        name: "residents-by-town",
        title_zh: "各镇（街道）登记居民数",
        title_en: "Residents enrolled, by town",
        k,
        rule: rule(k),
        as_of: as_of.to_string(),
        header: ["town_code", "town", "town_en", "residents"]
            .map(String::from)
            .to_vec(),
        rows,
        grid_columns: vec!["居民 residents".into()],
        grid,
        money: false,
    }
}

pub fn deeds_by_town_and_category(f: &Figures, k: i64, as_of: &str) -> Published {
    let counts = Table::new(&f.deed_residents);
    let points = Table::new(&f.deed_points);
    let p = protect(&counts, &[&points], k);
    let (towns, cats) = (f.towns.len(), f.categories.len());
    let mut rows = Vec::new();
    let mut grid = Vec::new();
    let town = |i: usize| {
        f.towns
            .get(i)
            .map_or(("".to_string(), "全市".to_string()), |t| {
                (t.code.clone(), t.name_zh.clone())
            })
    };
    let cat = |j: usize| {
        f.categories
            .get(j)
            .map_or(("".to_string(), "合计".to_string()), |c| {
                (c.code.clone(), c.name_zh.clone())
            })
    };
    let last_col = if counts.has_row_totals() {
        cats
    } else {
        cats.saturating_sub(1)
    };
    for i in 0..=towns {
        let mut cells = Vec::new();
        for j in 0..=last_col {
            let (n, pts) = (
                shown(&counts, &p, (i, j), k, true),
                shown(&points, &p, (i, j), k, false),
            );
            let ((tc, tn), (cc, cn)) = (town(i), cat(j));
            cells.push(format!("{n} / {pts}"));
            rows.push(vec![tc, tn, cc, cn, n, pts]);
        }
        grid.push((town(i).1, cells));
    }
    Published {
        name: "deeds-by-town-and-category",
        title_zh: "各镇（街道）按积分标准的获积分居民数与积分",
        title_en: "Residents with credited deeds and their points, by town and standard",
        k,
        rule: rule(k),
        as_of: as_of.to_string(),
        header: [
            "town_code",
            "town",
            "standard",
            "standard_name",
            "residents",
            "points",
        ]
        .map(String::from)
        .to_vec(),
        rows,
        grid_columns: (0..=last_col).map(|j| cat(j).1).collect(),
        grid,
        money: false,
    }
}

/// Volunteers with counted service hours and their hours, by their home town; a count of 1 to
/// k−1 volunteers is `<k` and its hours are withheld with it.
pub fn volunteers_by_town(f: &Figures, k: i64, as_of: &str) -> Published {
    let one_col = |v: &[i64]| v.iter().map(|&n| vec![n]).collect::<Vec<_>>();
    let counts = Table::new(&one_col(&f.volunteers_served));
    let hours = Table::new(&one_col(&f.volunteer_hours));
    let p = protect(&counts, &[&hours], k);
    let (rows, grid) = by_town(f, &[(&counts, true), (&hours, false)], &p, k);
    Published {
        name: "volunteers-by-town",
        title_zh: "各镇（街道）参加志愿服务的志愿者数与服务时长",
        title_en: "Volunteers with counted service hours and their hours, by town",
        k,
        rule: rule(k),
        as_of: as_of.to_string(),
        header: ["town_code", "town", "town_en", "volunteers", "hours"]
            .map(String::from)
            .to_vec(),
        rows,
        grid_columns: vec!["志愿者 volunteers".into(), "时长 hours".into()],
        grid,
        money: false,
    }
}

/// Households with a moral loan's balance outstanding and those balances, by town, in the
/// newest month of the banks' loan books. Counts follow the k rule; a balance is published only
/// over at least four households of which the two largest hold at most 85 % (else it and its
/// count are withheld, and their lines protected as any other's).
pub fn loans_by_town(f: &Figures, k: i64, as_of: &str) -> Published {
    let counts: Vec<Vec<i64>> = f
        .loan_balances
        .iter()
        .map(|b| vec![b.len() as i64])
        .collect();
    let sums: Vec<Vec<i64>> = f
        .loan_balances
        .iter()
        .map(|b| vec![b.iter().sum()])
        .collect();
    let (counts, sums) = (Table::new(&counts), Table::new(&sums));
    let mut forced: Vec<(usize, usize)> = f
        .loan_balances
        .iter()
        .enumerate()
        .filter(|(_, b)| !money_publishable(b))
        .map(|(i, _)| (i, 0))
        .collect();
    let city: Vec<i64> = f.loan_balances.iter().flatten().copied().collect();
    if !money_publishable(&city) {
        forced.push((f.towns.len(), 0));
    }
    let p = protect_with(&counts, &[&sums], k, &forced);
    let (rows, grid) = by_town(f, &[(&counts, true), (&sums, false)], &p, k);
    let month = f
        .loan_month
        .map_or(as_of.to_string(), |m| format!("{}-{:02}", m / 100, m % 100));
    Published {
        name: "loans-by-town",
        title_zh: "各镇（街道）道德信用贷款余额户数与贷款余额（元）",
        title_en: "Households with a moral loan outstanding and the balance (yuan), by town",
        k,
        rule: format!(
            "counts of 1 to {} households shown as <{k}; a balance is published only over at least {MONEY_MIN_CONTRIBUTORS} households of which the two largest hold at most {MONEY_TOP_TWO_MAX_PERCENT} %; further cells withheld (×) so that none can be worked out from the published figures and totals; balances withheld with their counts",
            k - 1
        ),
        as_of: month,
        header: ["town_code", "town", "town_en", "households", "balance_yuan"]
            .map(String::from)
            .to_vec(),
        rows,
        grid_columns: vec!["户数 households".into(), "余额 balance (yuan)".into()],
        grid,
        money: true,
    }
}

/// The technology supermarket by industry (GB/T 4754 division): enterprises that published a
/// demand and the demands they published. The unit protected is the enterprise: a division
/// with 1 to k−1 of them is `<k` and its demands are withheld with it, so no single firm's
/// demands can be read off.
pub fn market_by_industry(
    f: &moralbank_store::market::figures::MarketFigures,
    k: i64,
    as_of: &str,
) -> Published {
    let industries = domain::market::codes::INDUSTRIES;
    let of = |code: &str| f.by_industry.iter().find(|(c, _, _)| c == code);
    let enterprises: Vec<Vec<i64>> = industries
        .iter()
        .map(|c| vec![of(c.code).map_or(0, |r| r.2)])
        .collect();
    let demands: Vec<Vec<i64>> = industries
        .iter()
        .map(|c| vec![of(c.code).map_or(0, |r| r.1)])
        .collect();
    let counts = Table::new(&enterprises);
    let published = Table::new(&demands);
    let p = protect(&counts, &[&published], k);
    let mut rows = Vec::new();
    let mut grid = Vec::new();
    for i in 0..=industries.len() {
        let (code, zh, en) = match industries.get(i) {
            Some(c) => (c.code.to_string(), c.zh.to_string(), c.en.to_string()),
            None => ("".into(), "全部行业".into(), "All industries".into()),
        };
        let (n, d) = (
            shown(&counts, &p, (i, 0), k, true),
            shown(&published, &p, (i, 0), k, false),
        );
        grid.push((zh.clone(), vec![n.clone(), d.clone()]));
        rows.push(vec![code, zh, en, n, d]);
    }
    Published {
        name: "market-by-industry",
        title_zh: "科技超市各行业发布技术需求的企业数与需求数",
        title_en: "Technology supermarket: enterprises publishing demands and their demands, by industry",
        k,
        rule: format!(
            "counts of 1 to {} enterprises shown as <{k}; further cells withheld (×) so that none can be worked out from the published figures and totals; demands withheld with their counts",
            k - 1
        ),
        as_of: as_of.to_string(),
        header: ["industry_code", "industry", "industry_en", "enterprises", "demands"]
            .map(String::from)
            .to_vec(),
        rows,
        grid_columns: vec!["企业 enterprises".into(), "需求 demands".into()],
        grid,
        money: false,
    }
}

async fn tables(state: &AppState) -> Result<Vec<Published>, AppError> {
    let f = state.store.citydata().open_figures().await?;
    let as_of = moralbank_store::day_of(state.clock.now_ms());
    Ok(vec![
        residents_by_town(&f, k(state), &as_of),
        deeds_by_town_and_category(&f, k(state), &as_of),
        volunteers_by_town(&f, k(state), &as_of),
        loans_by_town(&f, k(state), &as_of),
        market_by_industry(&state.store.market().figures().await?, k(state), &as_of),
    ])
}

async fn page(State(state): State<AppState>, ctx: PageCtx) -> PageResult {
    let tables = tables(&state).await?;
    Ok(render(
        &state,
        &ctx,
        "open_data.html",
        context! {
            tables => tables,
            k => k(&state),
            money_min => MONEY_MIN_CONTRIBUTORS,
            money_top => MONEY_TOP_TWO_MAX_PERCENT,
        },
    )?
    .into_response())
}

fn csv_of(t: &Published) -> Vec<u8> {
    let mut w = csv::Writer::from_writer(b"\xEF\xBB\xBF".to_vec());
    let _ = w.write_record(&t.header);
    for r in &t.rows {
        let _ = w.write_record(r);
    }
    w.into_inner().unwrap_or_default()
}

fn datapackage(tables: &[Published]) -> serde_json::Value {
    let resources: Vec<_> = tables
        .iter()
        .flat_map(|t| {
            let fields: Vec<_> = t
                .header
                .iter()
                .map(|h| json!({ "name": h, "type": "string" }))
                .collect();
            [("csv", "text/csv"), ("json", "application/json"), ("xlsx", super::api::XLSX)].map(|(ext, media)| {
                json!({
                    "name": format!("{}-{ext}", t.name), "path": format!("{}.{ext}", t.name),
                    "format": ext, "mediatype": media, "title": t.title_zh, "description": t.title_en,
                    "schema": { "fields": fields },
                    "x-disclosure": { "k": t.k, "rule": t.rule, "small": format!("<{}", t.k), "withheld": "×" },
                    "x-as-of": t.as_of,
                })
            })
        })
        .collect();
    json!({
        "profile": "data-package",
        "name": "moralbank-open-data",
        "title": "道德银行开放数据 Moral Bank open data",
        "created": tables.first().map(|t| t.as_of.clone()),
        "resources": resources,
    })
}

async fn file(
    State(state): State<AppState>,
    Path(file): Path<String>,
) -> Result<Response, AppError> {
    let tables = tables(&state).await?;
    if file == "datapackage.json" {
        return Ok(Json(datapackage(&tables)).into_response());
    }
    let (name, ext) = file.rsplit_once('.').ok_or(AppError::NotFound("table"))?;
    let t = tables
        .iter()
        .find(|t| t.name == name)
        .ok_or(AppError::NotFound("table"))?;
    let fname = format!("{name}-{}.{ext}", t.as_of);
    Ok(match ext {
        "csv" => super::api::download("text/csv; charset=utf-8", &fname, csv_of(t)),
        "json" => Json(json!({
            "name": t.name, "title": t.title_zh, "title_en": t.title_en, "as_of": t.as_of,
            "disclosure": { "k": t.k, "rule": t.rule }, "fields": t.header, "rows": t.rows,
        }))
        .into_response(),
        "xlsx" => {
            let note = format!("{} · k = {} · {}", t.as_of, t.k, t.rule);
            let bytes = moralbank_store::citydata::imports::workbook::table_xlsx(
                t.title_zh, &note, &t.header, &t.rows,
            )?;
            super::api::download(super::api::XLSX, &fname, bytes)
        }
        _ => return Err(AppError::NotFound("table")),
    })
}
