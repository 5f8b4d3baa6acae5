//! The demo's moral credit loans: the rural commercial bank's published table, and over the
//! last eight months households that consented, whose reports the bank read and decided on
//! (mostly approvals, some declines and referrals), with the bank's monthly loan books sent
//! through the city-data imports — so the admin's figures (`/console/credit/figures`) have
//! months and towns. The demo resident's household got a loan; one household revoked its
//! consent; one waits for its second adult. Seeded once (the bank's table is the marker).

use crate::error::{CliError, Result};
use domain::credit::{Decision, DecisionInput, LineTable, Terms};
use moralbank_store::citydata::{ImportOwner, Mode, Upload};
use moralbank_store::credit::reports::ReportSigner;
use moralbank_store::evaluation::Rules;
use moralbank_store::fixtures::city::demo_identity;
use moralbank_store::registry::Actor;
use moralbank_store::{now_ms, Store};
use std::collections::BTreeMap;
use std::sync::atomic::AtomicUsize;

pub const BANK: &str = "余姚农村商业银行";
const DAY_MS: i64 = 86_400_000;
/// How many households borrow at most in the demo.
const BORROWERS_MAX: usize = 150;

/// A loan the demo bank approved: its reference, household, amount, term and start month.
struct Loan {
    reference: String,
    amount: u64,
    term: u32,
    start: i64,
}

/// Adults by household, from the demo's citizens (citizen `i` has the `i`-th demo identity).
async fn households(
    store: &Store,
    citizens: u64,
    now: i64,
) -> Result<BTreeMap<String, Vec<(u64, String)>>> {
    let today = {
        let d = moralbank_store::day_of(now);
        let p: Vec<u32> = d.split('-').map(|x| x.parse().unwrap_or(0)).collect();
        (p[0], p[1], p[2])
    };
    let mut out: BTreeMap<String, Vec<(u64, String)>> = BTreeMap::new();
    for i in 0..citizens.min(4_000) {
        let (phone, rid) = demo_identity(i);
        if !domain::credit::is_adult(rid.birth_date(), today) {
            continue;
        }
        let Some(id) = store.registry().citizen_id_by_phone(&phone).await? else {
            continue;
        };
        if let Some(s) = store.registry().citizen_summary(&id).await? {
            out.entry(s.household_id).or_default().push((i, id));
        }
    }
    Ok(out)
}

pub async fn seed_credit(store: &Store, signer: &ReportSigner<'_>, citizens: u64) -> Result<()> {
    let bank = store
        .credit()
        .banks()
        .await?
        .into_iter()
        .find(|b| b.name == BANK)
        .ok_or_else(|| CliError::Config("the demo bank is missing".into()))?;
    if store.credit().current_table(&bank.id).await?.is_some() {
        return Ok(());
    }
    let now = now_ms();
    let s = |v: &[&str]| v.iter().map(|x| (*x).to_string()).collect::<Vec<_>>();
    let tiers = signer.thresholds.len().clamp(1, 10);
    let lines = [
        "30000", "50000", "100000", "200000", "300000", "400000", "500000", "500000", "500000",
        "500000",
    ];
    let discounts = ["0", "5", "10", "20", "30", "30", "30", "30", "30", "30"];
    let table = LineTable::parse("4.35", &s(&lines[..tiers]), &s(&discounts[..tiers]))
        .map_err(|e| CliError::Config(format!("the demo table: {e}")))?;
    store
        .credit()
        .publish_table(&bank.id, &table, "system:demo", now - 240 * DAY_MS)
        .await?;
    let actor = Actor {
        kind: "partner",
        id: bank.id.clone(),
        label: format!("{BANK}（信贷员）"),
    };
    let all = households(store, citizens, now).await?;
    let demo_household = store
        .registry()
        .citizen_id_by_phone(&demo_identity(0).0)
        .await?
        .and_then(|_| {
            all.iter()
                .find(|(_, m)| m.iter().any(|(i, _)| *i == 0))
                .map(|(h, _)| h.clone())
        });
    // Borrowers: the demo resident's household first, then every 7th household.
    let mut order: Vec<&String> = demo_household.iter().collect();
    order.extend(
        all.keys()
            .enumerate()
            .filter(|(n, h)| n % 7 == 3 && Some(*h) != demo_household.as_ref())
            .map(|(_, h)| h)
            .take(BORROWERS_MAX),
    );
    let mut loans = Vec::new();
    let decided = order.len();
    for (n, household) in order.iter().enumerate() {
        let members = &all[*household];
        // Spread over the last eight months; the demo household borrowed five months ago.
        let t0 = if n == 0 {
            now - 150 * DAY_MS
        } else {
            now - (20 + (n as i64 * 37) % 220) * DAY_MS
        };
        if let Some(loan) = borrow(store, signer, &actor, members, n, t0).await? {
            loans.push(loan);
        }
    }
    send_books(store, &bank.id, &loans, now).await?;
    // One household revoked before the bank read its report; one waits for its second adult.
    let mut rest = all
        .iter()
        .filter(|(h, m)| !order.contains(h) && m.len() >= 2);
    if let Some((_, m)) = rest.next() {
        let c = store
            .credit()
            .request_consent(&m[0].1, &bank.id, DEFAULT_TERMS, now - 2 * DAY_MS)
            .await?;
        for (_, other) in &m[1..] {
            store
                .credit()
                .authorise_consent(other, &c.id, now - 2 * DAY_MS + 3_600_000)
                .await?;
        }
        store
            .credit()
            .revoke_consent(&m[1].1, &c.id, now - DAY_MS)
            .await?;
    }
    if let Some((_, m)) = rest.next() {
        store
            .credit()
            .request_consent(&m[0].1, &bank.id, DEFAULT_TERMS, now - 3_600_000)
            .await?;
    }
    println!("Moral credit loans: {BANK}'s table published, {decided} decisions, {} loans in its monthly books.", loans.len());
    Ok(())
}

const DEFAULT_TERMS: Terms = Terms {
    expiry_days: domain::credit::EXPIRY_DAYS_DEFAULT,
    lookback_months: domain::credit::LOOKBACK_MONTHS_DEFAULT,
};

/// One household's application at `t0`: every adult consents, the report is issued and read,
/// the bank decides a day later. The loan, when approved.
async fn borrow(
    store: &Store,
    signer: &ReportSigner<'_>,
    bank: &Actor,
    members: &[(u64, String)],
    n: usize,
    t0: i64,
) -> Result<Option<Loan>> {
    let credit = store.credit();
    let c = credit
        .request_consent(&members[0].1, &bank.id, DEFAULT_TERMS, t0)
        .await?;
    for (k, (_, other)) in members.iter().enumerate().skip(1) {
        credit
            .authorise_consent(other, &c.id, t0 + k as i64 * 600_000)
            .await?;
    }
    let report = credit
        .household_report(&members[0].1, &c.id, signer, t0 + 3_600_000)
        .await?;
    credit
        .bank_read_presented(bank, &report.id, &c.id, t0 + 7_200_000)
        .await?;
    let suggested = moralbank_code::verify_report(
        &report.body,
        signer_keys(signer)?.as_ref(),
        None,
        report.issued_at / 1000,
        30,
    )
    .ok()
    .and_then(|r| r.line)
    .map_or(50_000, |l| l.max_line_yuan.max(30_000));
    let (outcome, reasons) = match n % 20 {
        7 | 13 | 19 => ("declined", vec!["income_insufficient".to_string()]),
        11 => ("referred", vec!["documents_missing".to_string()]),
        _ => (
            "approved",
            vec![
                "good_moral_credit".to_string(),
                "income_sufficient".to_string(),
            ],
        ),
    };
    let approved = outcome == "approved";
    // The bank lends what it judges right; the table only suggests.
    let amount = suggested.max([80_000, 120_000, 150_000, 200_000, 100_000][n % 5]);
    let term = [12u32, 24, 36][n % 3];
    let reference = format!("YYNSH-{}-{:05}", &moralbank_store::day_of(t0)[..4], n + 1);
    let input = DecisionInput {
        outcome: outcome.into(),
        amount_yuan: if approved {
            amount.to_string()
        } else {
            String::new()
        },
        rate_pct: if approved {
            "3.92".into()
        } else {
            String::new()
        },
        term_months: if approved {
            term.to_string()
        } else {
            String::new()
        },
        loan_ref: if approved {
            reference.clone()
        } else {
            String::new()
        },
        reasons,
        reasons_text: if approved {
            String::new()
        } else {
            "可补充收入证明后重新申请".into()
        },
    };
    let d =
        Decision::parse(&input).map_err(|e| CliError::Config(format!("a demo decision: {e}")))?;
    credit
        .record_decision(bank, "system:demo", &report.id, &d, t0 + DAY_MS)
        .await?;
    Ok(approved.then(|| Loan {
        reference,
        amount,
        term,
        start: domain::time::month_of(t0 + DAY_MS),
    }))
}

fn signer_keys(signer: &ReportSigner<'_>) -> Result<Box<moralbank_code::KeySet>> {
    moralbank_code::KeySet::new(vec![signer.key.public()])
        .map(Box::new)
        .map_err(|e| CliError::Config(format!("the credit key: {e}")))
}

/// The bank's monthly books from each loan's first month to this one: the balance falls by an
/// equal part each month; a loan is repaid when its term ends.
async fn send_books(store: &Store, bank_id: &str, loans: &[Loan], now: i64) -> Result<()> {
    let current = domain::time::month_of(now);
    let Some(first) = loans.iter().map(|l| l.start).min() else {
        return Ok(());
    };
    let mut month = first;
    while month <= current {
        let mut csv = String::from("贷款编号,月份,贷款状态,贷款余额（元）\r\n");
        for l in loans.iter().filter(|l| l.start <= month) {
            let elapsed = (month / 100 * 12 + month % 100) - (l.start / 100 * 12 + l.start % 100);
            let left = i64::from(l.term) - elapsed;
            let (state, balance) = if left <= 0 {
                ("repaid", 0)
            } else {
                ("disbursed", l.amount as i64 * left / i64::from(l.term))
            };
            csv.push_str(&format!(
                "{},{}-{:02},{state},{balance}\r\n",
                l.reference,
                month / 100,
                month % 100
            ));
        }
        let name = format!("道德信用贷台账-{}-{:02}.csv", month / 100, month % 100);
        let i = store
            .citydata()
            .import_file(
                &Upload {
                    schema: &domain::citydata::kinds::BANK_LOANS,
                    owner: ImportOwner::Partner(bank_id.to_string()),
                    by: "system:demo".into(),
                    file_name: name.clone(),
                    bytes: csv.as_bytes(),
                },
                Mode::Commit,
                &Rules::default(),
                now,
                &AtomicUsize::new(0),
            )
            .await?;
        if i.status != "committed" {
            return Err(CliError::Config(format!(
                "the demo loan book {name} was refused: {:?}",
                i.problems.first()
            )));
        }
        month = domain::time::months_before(month, -1);
    }
    Ok(())
}
