//! The demo city: Yuyao's 21 towns and streets, ~305 villages and communities, and as many
//! households and citizens as asked for, inserted in bulk. Personal data is generated, sealed
//! and hashed exactly as enrolment does, so the demo exercises the real storage path.

use crate::citizens::SealedCitizen;
use crate::{now_ms, Result, Store};
use domain::{PersonName, Phone, ResidentId, ENROLMENT_CONSENT_VERSION};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::time::Instant;

pub const CITY_CODE: &str = "330281";

/// (Chinese, English) names of Yuyao's 6 streets (街道) and 15 towns (镇/乡).
pub const TOWNS: [(&str, &str); 21] = [
    ("阳明街道", "Yangming Street"),
    ("梨洲街道", "Lizhou Street"),
    ("凤山街道", "Fengshan Street"),
    ("兰江街道", "Lanjiang Street"),
    ("低塘街道", "Ditang Street"),
    ("朗霞街道", "Langxia Street"),
    ("马渚镇", "Mazhu Town"),
    ("牟山镇", "Moushan Town"),
    ("丈亭镇", "Zhangting Town"),
    ("三七市镇", "Sanqishi Town"),
    ("河姆渡镇", "Hemudu Town"),
    ("大隐镇", "Dayin Town"),
    ("陆埠镇", "Lubu Town"),
    ("梁弄镇", "Liangnong Town"),
    ("大岚镇", "Dalan Town"),
    ("四明山镇", "Siming Mountain Town"),
    ("鹿亭乡", "Luting Township"),
    ("泗门镇", "Simen Town"),
    ("小曹娥镇", "Xiaocao'e Town"),
    ("黄家埠镇", "Huangjiabu Town"),
    ("临山镇", "Linshan Town"),
];
pub const VILLAGES: usize = 305;

const FIRST: [(&str, &str); 24] = [
    ("东", "Dong"),
    ("西", "Xi"),
    ("南", "Nan"),
    ("北", "Bei"),
    ("新", "Xin"),
    ("上", "Shang"),
    ("下", "Xia"),
    ("前", "Qian"),
    ("后", "Hou"),
    ("马", "Ma"),
    ("黄", "Huang"),
    ("青", "Qing"),
    ("金", "Jin"),
    ("石", "Shi"),
    ("荷", "He"),
    ("桃", "Tao"),
    ("梅", "Mei"),
    ("竹", "Zhu"),
    ("湖", "Hu"),
    ("江", "Jiang"),
    ("云", "Yun"),
    ("龙", "Long"),
    ("凤", "Feng"),
    ("姚", "Yao"),
];
const SECOND: [(&str, &str); 14] = [
    ("山", "shan"),
    ("桥", "qiao"),
    ("湖", "hu"),
    ("塘", "tang"),
    ("岙", "ao"),
    ("浦", "pu"),
    ("溪", "xi"),
    ("园", "yuan"),
    ("林", "lin"),
    ("湾", "wan"),
    ("港", "gang"),
    ("家", "jia"),
    ("庄", "zhuang"),
    ("岭", "ling"),
];
const SURNAMES: [&str; 30] = [
    "王", "李", "张", "刘", "陈", "杨", "黄", "赵", "吴", "周", "徐", "孙", "马", "朱", "胡", "郭",
    "何", "高", "林", "罗", "郑", "梁", "谢", "宋", "唐", "许", "韩", "冯", "邓", "欧阳",
];
const GIVEN: [&str; 40] = [
    "伟", "芳", "娜", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟", "涛", "明",
    "超", "秀", "霞", "平", "刚", "桂", "英", "华", "建", "国", "文", "红", "玉", "兰", "海", "燕",
    "志", "春", "晓", "林", "云", "鹏", "宇", "欣",
];

/// Citizens per transaction.
pub const SEED_BATCH_ROWS: usize = 500;

/// Bound parameters per INSERT statement. sqlx binds SQLite's `$N` parameters by looking up
/// each one's name, and SQLite finds a name by walking the list of all of them, so the cost of
/// one statement grows with the square of its parameter count (measured: at 7,000 parameters
/// that lookup took two thirds of the whole seeding time). Short statements keep it linear.
pub const STATEMENT_PARAMS_MAX: usize = 256;

pub(crate) fn statement_rows(cols: usize) -> usize {
    (STATEMENT_PARAMS_MAX / cols).max(1)
}

#[derive(Debug, Clone)]
pub struct SeedReport {
    pub towns: usize,
    pub villages: usize,
    pub households: u64,
    pub citizens: u64,
    pub seconds: f64,
    pub city_id: String,
    pub first_village_id: String,
    pub first_town_id: String,
}

/// The phone and ID number of demo citizen `i` (deterministic, unique, valid).
pub fn demo_identity(i: u64) -> (Phone, ResidentId) {
    let day = i % 25_000;
    let seq = i / 25_000 % 1000;
    let (y, m, d) = civil_from_days(-10_958 + day as i64); // from 1940-01-01
    let first17 = format!("{CITY_CODE}{y:04}{m:02}{d:02}{seq:03}");
    let check = ResidentId::check_char(&first17).unwrap_or('0');
    let rid = ResidentId::parse(&format!("{first17}{check}"))
        .expect("demo ids are valid by construction");
    let phone = Phone::parse(&format!("139{:08}", i % 100_000_000))
        .expect("demo phones are valid by construction");
    (phone, rid)
}

/// Days since 1970-01-01 → (year, month, day), proleptic Gregorian (Howard Hinnant's algorithm).
pub(crate) fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

fn demo_name(rng: &mut StdRng) -> PersonName {
    let mut s = SURNAMES[rng.gen_range(0..SURNAMES.len())].to_string();
    for _ in 0..rng.gen_range(1..=2) {
        s.push_str(GIVEN[rng.gen_range(0..GIVEN.len())]);
    }
    PersonName::parse(&s).expect("demo names are valid by construction")
}

impl Store {
    /// Seed the region tree and `citizens` citizens in households of 1 to 5. Refuses to run on
    /// a database that already has regions.
    pub async fn seed_city(&self, citizens: u64, rng_seed: u64) -> Result<SeedReport> {
        let started = Instant::now();
        if self.city().await?.is_some() {
            return Err(crate::StoreError::Config(
                "the database already holds a city; seed an empty database".into(),
            ));
        }
        let now = now_ms();
        let city_id = domain::new_id();
        let mut regions: Vec<RegionRow> = vec![(
            city_id.clone(),
            None,
            "city",
            CITY_CODE.into(),
            "余姚市".into(),
            "Yuyao City".into(),
        )];
        let mut villages = Vec::with_capacity(VILLAGES);
        for (t, (zh, en)) in TOWNS.iter().enumerate() {
            let tid = domain::new_id();
            regions.push((
                tid.clone(),
                Some(city_id.clone()),
                "town",
                format!("{CITY_CODE}{:03}", t + 1),
                zh.to_string(),
                en.to_string(),
            ));
            let count = VILLAGES / TOWNS.len() + usize::from(t < VILLAGES % TOWNS.len());
            let street = zh.ends_with("街道");
            for v in 0..count {
                let k = t * 17 + v * 5;
                let (a, ae) = FIRST[k % FIRST.len()];
                let (b, be) = SECOND[(k / FIRST.len() + v) % SECOND.len()];
                let (kind_zh, kind_en) = if street {
                    ("社区", "Community")
                } else {
                    ("村", "Village")
                };
                let vid = domain::new_id();
                regions.push((
                    vid.clone(),
                    Some(tid.clone()),
                    "village",
                    format!("{CITY_CODE}{:03}{:03}", t + 1, v + 1),
                    format!("{a}{b}{kind_zh}"),
                    format!("{ae}{be} {kind_en}"),
                ));
                villages.push(vid);
            }
        }
        let mut tx = self.write.begin().await?;
        for chunk in regions.chunks(statement_rows(7)) {
            let sql = multi_insert(
                "INSERT INTO regions (id, parent_id, level, code, name_zh, name_en, created_at)",
                7,
                chunk.len(),
            );
            let mut q = sqlx::query(&sql);
            for r in chunk {
                q = q
                    .bind(r.0.clone())
                    .bind(r.1.clone())
                    .bind(r.2)
                    .bind(r.3.clone())
                    .bind(r.4.clone())
                    .bind(r.5.clone())
                    .bind(now);
            }
            q.execute(&mut *tx).await?;
        }
        tx.commit().await?;
        let households = self
            .seed_citizens(&villages, citizens, rng_seed, now)
            .await?;
        Ok(SeedReport {
            towns: TOWNS.len(),
            villages: villages.len(),
            households,
            citizens,
            seconds: started.elapsed().as_secs_f64(),
            first_town_id: regions[1].0.clone(),
            first_village_id: villages[0].clone(),
            city_id,
        })
    }

    /// Sealing (AES-GCM + HMAC) runs on a blocking thread one batch ahead of the inserts, so
    /// both cores work: one encrypts, one writes.
    async fn seed_citizens(
        &self,
        villages: &[String],
        citizens: u64,
        rng_seed: u64,
        now: i64,
    ) -> Result<u64> {
        let (tx_rows, mut rx_rows) = tokio::sync::mpsc::channel::<Result<Batch>>(2);
        let store = self.clone();
        let villages = villages.to_vec();
        let producer = tokio::task::spawn_blocking(move || {
            let mut rng = StdRng::seed_from_u64(rng_seed);
            let mut i = 0u64;
            let mut households = 0u64;
            while i < citizens {
                let mut batch = Batch::default();
                while i < citizens && batch.citizens.len() < SEED_BATCH_ROWS {
                    let size = rng.gen_range(1..=5u64).min(citizens - i);
                    let hid = domain::new_id();
                    // Citizen 0 lives in the first village so the demo login is easy to find.
                    let village = if i == 0 {
                        villages[0].clone()
                    } else {
                        villages[rng.gen_range(0..villages.len())].clone()
                    };
                    let head = domain::new_id();
                    batch
                        .households
                        .push((hid.clone(), village.clone(), head.clone()));
                    households += 1;
                    for m in 0..size {
                        let cid = if m == 0 {
                            head.clone()
                        } else {
                            domain::new_id()
                        };
                        let (phone, rid) = demo_identity(i);
                        let sealed =
                            match store.seal_citizen(&cid, &demo_name(&mut rng), &rid, &phone) {
                                Ok(s) => s,
                                Err(e) => {
                                    let _ = tx_rows.blocking_send(Err(e));
                                    return households;
                                }
                            };
                        batch
                            .citizens
                            .push((cid, village.clone(), hid.clone(), sealed));
                        i += 1;
                    }
                }
                if tx_rows.blocking_send(Ok(batch)).is_err() {
                    break;
                }
            }
            households
        });
        while let Some(batch) = rx_rows.recv().await {
            self.insert_batch(&batch?, now).await?;
        }
        producer
            .await
            .map_err(|_| crate::StoreError::Config("seeding thread panicked".into()))
    }

    async fn insert_batch(&self, b: &Batch, now: i64) -> Result<()> {
        let mut tx = self.write.begin().await?;
        let head = "INSERT INTO households (id, village_id, head_citizen_id, created_at)";
        for rows in b.households.chunks(statement_rows(4)) {
            let sql = multi_insert(head, 4, rows.len());
            let mut q = sqlx::query(&sql);
            for (id, v, head) in rows {
                q = q
                    .bind(id.as_str())
                    .bind(v.as_str())
                    .bind(head.as_str())
                    .bind(now);
            }
            q.execute(&mut *tx).await?;
        }
        let head = "INSERT INTO citizens (id, village_id, household_id, key_id, name_enc, name_hmac, name_masked, \
             resident_id_enc, resident_id_hmac, resident_id_masked, phone_enc, phone_hmac, phone_masked, enrolled_at)";
        for rows in b.citizens.chunks(statement_rows(14)) {
            let sql = multi_insert(head, 14, rows.len());
            let mut q = sqlx::query(&sql);
            for (id, v, h, s) in rows {
                q = q
                    .bind(id.as_str())
                    .bind(v.as_str())
                    .bind(h.as_str())
                    .bind(s.key_id.as_str())
                    .bind(s.name_enc.as_slice())
                    .bind(s.name_hmac.as_slice())
                    .bind(s.name_masked.as_str())
                    .bind(s.resident_id_enc.as_slice())
                    .bind(s.resident_id_hmac.as_slice())
                    .bind(s.resident_id_masked.as_str())
                    .bind(s.phone_enc.as_slice())
                    .bind(s.phone_hmac.as_slice())
                    .bind(s.phone_masked.as_str())
                    .bind(now);
            }
            q.execute(&mut *tx).await?;
        }
        let head = "INSERT INTO consents (id, citizen_id, purpose, version, granted_at)";
        for rows in b.citizens.chunks(statement_rows(5)) {
            let sql = multi_insert(head, 5, rows.len());
            let mut q = sqlx::query(&sql);
            for (id, ..) in rows {
                q = q
                    .bind(domain::new_id())
                    .bind(id.as_str())
                    .bind("enrolment")
                    .bind(ENROLMENT_CONSENT_VERSION)
                    .bind(now);
            }
            q.execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(())
    }
}

/// id, parent id, level, code, Chinese name, English name.
type RegionRow = (String, Option<String>, &'static str, String, String, String);

#[derive(Default)]
struct Batch {
    households: Vec<(String, String, String)>,
    citizens: Vec<(String, String, String, SealedCitizen)>,
}

pub(crate) fn multi_insert(head: &str, cols: usize, rows: usize) -> String {
    let mut sql = String::with_capacity(head.len() + rows * cols * 6);
    sql.push_str(head);
    sql.push_str(" VALUES ");
    let mut n = 0;
    for r in 0..rows {
        if r > 0 {
            sql.push(',');
        }
        sql.push('(');
        for c in 0..cols {
            n += 1;
            if c > 0 {
                sql.push(',');
            }
            sql.push('$');
            sql.push_str(&n.to_string());
        }
        sql.push(')');
    }
    sql
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn demo_identities_are_valid_and_distinct() {
        let mut seen = std::collections::HashSet::new();
        for i in (0..1_300_000).step_by(997) {
            let (p, r) = demo_identity(i);
            assert!(seen.insert(r.as_str().to_string()), "duplicate id at {i}");
            assert!(p.as_str().starts_with("139"));
        }
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(-10_958), (1940, 1, 1));
    }

    #[test]
    fn the_city_has_21_towns_and_305_villages() {
        let per_town: usize = (0..TOWNS.len())
            .map(|t| VILLAGES / TOWNS.len() + usize::from(t < VILLAGES % TOWNS.len()))
            .sum();
        assert_eq!(per_town, 305);
        assert_eq!(
            multi_insert("INSERT INTO t (a, b)", 2, 2),
            "INSERT INTO t (a, b) VALUES ($1,$2),($3,$4)"
        );
    }
}
