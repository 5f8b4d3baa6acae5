//! The demo's city data: the library's clerk (login `library`) finds two imports on
//! `/console/imports`: a file of deeds committed whole (in the committee's queue), and a file
//! refused whole, whose problems and error workbook show the Excel traps (an ID number that
//! Excel turned into a number, a serial date, an unknown standard). The city's admins (login
//! `admin`) find this year's 余姚好人 honour list committed: three green cards issued, and the
//! demo resident, who already holds that card, unchanged.

use crate::error::{CliError, Result};
use domain::citydata::kinds::{GREEN_CARD_HONOURS, PARTNER_DEEDS};
use moralbank_store::citydata::{ImportOwner, Mode, Upload};
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
    if !store
        .citydata()
        .imports(&ImportOwner::Partner(library.id.clone()), 1)
        .await?
        .is_empty()
    {
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
                    owner: ImportOwner::Partner(library.id.clone()),
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

/// The city's honour list of this year: run after the demo resident's own green card.
pub async fn seed_honours(store: &Store) -> Result<()> {
    if !store
        .citydata()
        .imports(&ImportOwner::City, 1)
        .await?
        .is_empty()
    {
        return Ok(());
    }
    let now = now_ms();
    let until = format!("{}-12-31", crate::demo::year_after(now));
    let mut list = String::from("身份证号,荣誉称号,事迹简介,有效期至\r\n");
    for (i, citation) in [
        (0, "多年义务照顾村里的孤寡老人"),
        (21, "连续十五年无偿献血，累计 6000 毫升"),
        (42, "组建邻里互助队，为独居老人送餐三年"),
        (63, "带领村民修复古道，义务讲解四明山红色历史"),
    ] {
        let (_, rid) = demo_identity(i);
        list.push_str(&format!("{},余姚好人,{citation},{until}\r\n", rid.as_str()));
    }
    let i = store
        .citydata()
        .import_file(
            &Upload {
                schema: &GREEN_CARD_HONOURS,
                owner: ImportOwner::City,
                by: "system:demo".into(),
                file_name: "余姚好人-年度名单.csv".into(),
                bytes: list.as_bytes(),
            },
            Mode::Commit,
            &Rules::default(),
            now,
            &AtomicUsize::new(0),
        )
        .await?;
    println!(
        "import 余姚好人-年度名单.csv: {} ({} rows, {} new, {} unchanged)",
        i.status, i.rows.total, i.rows.new, i.rows.unchanged
    );
    Ok(())
}
