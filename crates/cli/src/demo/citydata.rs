//! The demo's city data: the library's clerk (login `library`) finds two imports on
//! `/console/imports`: a file of deeds committed whole (in the committee's queue), and a file
//! refused whole, whose problems and error workbook show the Excel traps (an ID number that
//! Excel turned into a number, a serial date, an unknown standard).

use crate::error::{CliError, Result};
use domain::citydata::kinds::PARTNER_DEEDS;
use moralbank_store::citydata::{Mode, Upload};
use moralbank_store::evaluation::Rules;
use moralbank_store::fixtures::city::demo_identity;
use moralbank_store::{now_ms, Store};
use std::sync::atomic::AtomicUsize;

const LIBRARY: &str = "余姚市图书馆";

pub async fn seed_imports(store: &Store) -> Result<()> {
    let partners = store.accounts().list_partners().await?;
    let library = partners
        .iter()
        .find(|p| p.name == LIBRARY)
        .ok_or_else(|| CliError::Config("the demo library is missing".into()))?;
    if !store.citydata().imports(&library.id, 1).await?.is_empty() {
        return Ok(());
    }
    let day = moralbank_store::day_of(now_ms());
    let mut good = String::from("记录编号,身份证号,积分标准,事迹日期,地点,事迹描述\r\n");
    for i in 10..15 {
        let (_, rid) = demo_identity(i);
        good.push_str(&format!(
            "LIB-2026-{i:04},{},neighbourly-help,{day},余姚市图书馆,为视障读者朗读报纸两小时\r\n",
            rid.as_str()
        ));
    }
    let (_, rid) = demo_identity(16);
    let bad = format!(
        "记录编号,身份证号,积分标准,事迹日期,地点,事迹描述\r\n\
         LIB-2026-0100,{},neighbourly-help,{day},余姚市图书馆,整理捐赠图书\r\n\
         LIB-2026-0101,3.30281E+17,neighbourly-help,{day},余姚市图书馆,整理捐赠图书\r\n\
         LIB-2026-0102,{},neighbourly-help,45413,余姚市图书馆,整理捐赠图书\r\n\
         LIB-2026-0103,{},library-helper,{day},余姚市图书馆,整理捐赠图书\r\n",
        rid.as_str(),
        rid.as_str(),
        rid.as_str(),
    );
    for (name, text) in [("读者服务-11月.csv", good), ("图书整理-有误.csv", bad)] {
        let (bytes, _, _) = encoding_rs::GB18030.encode(&text);
        let i = store
            .citydata()
            .import_file(
                &Upload {
                    schema: &PARTNER_DEEDS,
                    partner_id: library.id.clone(),
                    by: "system:demo".into(),
                    file_name: name.into(),
                    bytes: &bytes,
                },
                Mode::Commit,
                &Rules::default(),
                now_ms(),
                &AtomicUsize::new(0),
            )
            .await?;
        println!(
            "import {name}: {} ({} rows, {} new, {} refused)",
            i.status, i.rows.total, i.rows.new, i.rows.refused
        );
    }
    Ok(())
}
