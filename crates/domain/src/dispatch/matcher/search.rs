//! The search behind [`propose`](super::propose): each slot's shortlist of cheapest eligible
//! candidates, groups of slots that share candidates, and Kuhn–Munkres on each group.

use super::{
    availability, base_cost, busy, certificates, distance_cost, eligibility, skills_cost, unique,
    Candidate, Slot, TermCode, Weights,
};
use pathfinding::kuhn_munkres::kuhn_munkres_min;
use pathfinding::matrix::Matrix;
use std::collections::{BinaryHeap, HashMap};

/// Candidates each slot keeps at least (when the batch has that many slots): up to this many
/// slots, the pre-selection loses nothing and [`propose`](super::propose) is exact.
pub const SHORTLIST_MIN: usize = 8;
/// Slots solved together by one Kuhn–Munkres at most (its time grows with the cube): a larger
/// group of slots sharing candidates is solved town by town.
pub const GROUP_SLOTS_MAX: usize = 64;
/// Where a pair's cost is capped when choosing, so the "unfilled" and "forbidden" costs below
/// never overflow whatever the weights. Sane weights give costs of a few hundred.
const COST_CAP: i64 = 1_000_000;

/// The candidate (index into the pool's candidates) each slot gets, `None` for unfilled.
pub(super) fn assign(pool: &Pool<'_>, slots: &[Slot], w: &Weights) -> Vec<Option<usize>> {
    let views: Vec<View<'_>> = slots.iter().map(|s| pool.view(s)).collect();
    let mut town_slots: HashMap<Option<u32>, usize> = HashMap::new();
    for v in &views {
        *town_slots.entry(v.town).or_default() += 1;
    }
    let lengths: Vec<usize> = views
        .iter()
        .map(|v| (SHORTLIST_MIN + town_slots[&v.town]).min(slots.len()))
        .collect();
    let shortlists: Vec<Vec<Choice>> = views
        .iter()
        .zip(&lengths)
        .map(|(v, &k)| pool.shortlist(v, k, w, &[]))
        .collect();
    let mut solver = Solver {
        pool,
        views: &views,
        shortlists: &shortlists,
        w,
        assigned: vec![None; slots.len()],
        taken: vec![false; pool.candidates.len()],
    };
    for group in components(&shortlists) {
        if group.len() <= GROUP_SLOTS_MAX {
            solver.solve(&group);
            continue;
        }
        // Towns linked by a few volunteers who could go to either: each town in turn (in the
        // order of its first slot) takes what the towns before it left.
        let mut towns: Vec<(Option<u32>, Vec<usize>)> = Vec::new();
        for &n in &group {
            match towns.iter_mut().find(|(t, _)| *t == views[n].town) {
                Some((_, part)) => part.push(n),
                None => towns.push((views[n].town, vec![n])),
            }
        }
        for (_, part) in towns {
            solver.solve(&part);
        }
    }
    let Solver {
        mut assigned,
        mut taken,
        ..
    } = solver;
    // A full shortlist taken by other slots may hide someone eligible and free: give such a
    // slot its cheapest free candidate, so no slot is left unfilled while someone who could
    // take it is free (never needed up to `SHORTLIST_MIN` slots).
    for (n, v) in views.iter().enumerate() {
        if assigned[n].is_none() && shortlists[n].len() == lengths[n] {
            if let Some(c) = pool.shortlist(v, 1, w, &taken).first() {
                assigned[n] = Some(c.index);
                taken[c.index as usize] = true;
            }
        }
    }
    assigned
        .into_iter()
        .map(|a| a.map(|i| i as usize))
        .collect()
}

/// A shortlisted candidate: its cost for the slot, its rank by id, its index.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct Choice {
    cost: i64,
    rank: u32,
    index: u32,
}

/// A slot as the search reads it: its places and excluded household as interned ids (`None`:
/// no candidate has it), the hours it needs (`None`: never covered), the skills it wants.
pub(super) struct View<'s> {
    slot: &'s Slot,
    village: Option<u32>,
    town: Option<u32>,
    household: Option<u32>,
    need: Option<[u32; 7]>,
    wanted: Vec<&'s str>,
}

/// The candidates of one call, indexed for the shortlists: by village (home or served) and by
/// town, each list ordered by the slot-independent cost so a search can stop early. Village,
/// town and household ids are interned, so the search compares integers, not text.
pub(super) struct Pool<'a> {
    candidates: &'a [Candidate],
    /// The median of the candidates' recent minutes (each id once), for the hours term.
    pub(super) median: i64,
    base: Vec<i64>,
    rank: Vec<u32>,
    ids: HashMap<&'a str, u32>,
    /// Per candidate: home village, home town, household (interned), villages served.
    homes: Vec<(u32, u32, u32)>,
    serves: Vec<Vec<u32>>,
    by_village: HashMap<u32, Vec<u32>>,
    by_town: HashMap<u32, Vec<u32>>,
    all: Vec<u32>,
}

impl<'a> Pool<'a> {
    pub(super) fn new(candidates: &'a [Candidate], w: &Weights) -> Self {
        let mut order: Vec<u32> = (0..candidates.len() as u32).collect();
        order.sort_by(|&a, &b| candidates[a as usize].id.cmp(&candidates[b as usize].id));
        // Ranks follow ids; a repeated id keeps its first candidate (stable sort) only.
        let mut rank = vec![u32::MAX; candidates.len()];
        let mut live = Vec::with_capacity(candidates.len());
        for (r, &i) in order.iter().enumerate() {
            let repeated =
                r > 0 && candidates[order[r - 1] as usize].id == candidates[i as usize].id;
            if !repeated {
                rank[i as usize] = r as u32;
                live.push(i);
            }
        }
        let mut minutes: Vec<i64> = live
            .iter()
            .map(|&i| candidates[i as usize].recent_minutes)
            .collect();
        let median = crate::dispatch::fairness::median(&mut minutes).unwrap_or(0);
        let base: Vec<i64> = candidates.iter().map(|c| base_cost(c, median, w)).collect();
        let mut ids: HashMap<&str, u32> = HashMap::new();
        let mut intern = |s: &'a str| {
            let next = ids.len() as u32;
            *ids.entry(s).or_insert(next)
        };
        let homes: Vec<(u32, u32, u32)> = candidates
            .iter()
            .map(|c| {
                let village = intern(&c.home.village_id);
                (village, intern(&c.home.town_id), intern(&c.household_id))
            })
            .collect();
        let serves: Vec<Vec<u32>> = candidates
            .iter()
            .map(|c| c.serves.iter().map(|v| intern(v)).collect())
            .collect();
        let mut all = live;
        all.sort_by_key(|&i| (base[i as usize], rank[i as usize]));
        let mut by_village: HashMap<u32, Vec<u32>> = HashMap::new();
        let mut by_town: HashMap<u32, Vec<u32>> = HashMap::new();
        for &i in &all {
            let (village, town, _) = homes[i as usize];
            by_town.entry(town).or_default().push(i);
            by_village.entry(village).or_default().push(i);
            let served = &serves[i as usize];
            for (n, &v) in served.iter().enumerate() {
                // Each village once, home included.
                if v != village && !served[..n].contains(&v) {
                    by_village.entry(v).or_default().push(i);
                }
            }
        }
        Self {
            candidates,
            median,
            base,
            rank,
            ids,
            homes,
            serves,
            by_village,
            by_town,
            all,
        }
    }

    pub(super) fn view<'s>(&self, s: &'s Slot) -> View<'s> {
        View {
            slot: s,
            village: self.ids.get(s.place.village_id.as_str()).copied(),
            town: self.ids.get(s.place.town_id.as_str()).copied(),
            household: (s.excluded_household.as_deref()).and_then(|h| self.ids.get(h).copied()),
            need: availability::hours_needed(s.starts_at, s.ends_at),
            wanted: unique(&s.skills),
        }
    }

    /// [`distance`](super::distance) on interned ids.
    fn distance(&self, i: u32, v: &View<'_>) -> TermCode {
        let (village, town, _) = self.homes[i as usize];
        if v.village
            .is_some_and(|x| x == village || self.serves[i as usize].contains(&x))
        {
            TermCode::SameVillage
        } else if v.town == Some(town) {
            TermCode::SameTown
        } else {
            TermCode::OtherTown
        }
    }

    /// [`eligibility`] as a yes or no, cheapest and most selective checks first (the same
    /// answer: checked in debug builds).
    fn eligible(&self, i: u32, v: &View<'_>) -> bool {
        let (c, s) = (&self.candidates[i as usize], v.slot);
        let ok = v.need.is_some_and(|need| c.availability.has(&need))
            && v.household != Some(self.homes[i as usize].2)
            && !s.excluded.contains(&c.id)
            && certificates(c, s).is_ok()
            && !busy(c, s);
        debug_assert_eq!(ok, eligibility(c, s).is_ok());
        ok
    }

    /// The cost of an eligible pair (what [`terms`](super::terms) adds up to), `None` for an
    /// ineligible one.
    pub(super) fn cost(&self, i: u32, v: &View<'_>, w: &Weights) -> Option<i64> {
        if !self.eligible(i, v) {
            return None;
        }
        Some(self.cost_in(i, v, self.distance(i, v), w))
    }

    fn cost_in(&self, i: u32, v: &View<'_>, d: TermCode, w: &Weights) -> i64 {
        let c = &self.candidates[i as usize];
        self.base[i as usize]
            .saturating_add(distance_cost(d, w))
            .saturating_add(skills_cost(c, v.slot, &v.wanted, w))
    }

    /// The `k` cheapest eligible candidates for a slot (fewer when fewer are eligible),
    /// cheapest first, none of those `taken` (by index; missing means not taken). Each tier
    /// (village, town, city) is searched in order of the slot-independent cost and left as
    /// soon as even the best skills could not beat the `k`-th found.
    fn shortlist(&self, v: &View<'_>, k: usize, w: &Weights, taken: &[bool]) -> Vec<Choice> {
        let wanted = v.wanted.len() as i64;
        let skills_floor = wanted.saturating_mul(w.has_skill.min(w.missing_skill));
        let mut best: BinaryHeap<Choice> = BinaryHeap::with_capacity(k + 1);
        let tiers = [
            (
                TermCode::SameVillage,
                v.village.and_then(|x| self.by_village.get(&x)),
            ),
            (
                TermCode::SameTown,
                v.town.and_then(|x| self.by_town.get(&x)),
            ),
            (TermCode::OtherTown, Some(&self.all)),
        ];
        for (tier, list) in tiers {
            let Some(list) = list else { continue };
            let floor = distance_cost(tier, w).saturating_add(skills_floor);
            for &i in list {
                let bound = self.base[i as usize].saturating_add(floor);
                if best.len() == k && best.peek().is_some_and(|b| bound > b.cost) {
                    break;
                }
                // Lists overlap (a town holds its villages): each candidate counts in its tier.
                if self.distance(i, v) != tier
                    || taken.get(i as usize).copied().unwrap_or(false)
                    || !self.eligible(i, v)
                {
                    continue;
                }
                let choice = Choice {
                    cost: self.cost_in(i, v, tier, w),
                    rank: self.rank[i as usize],
                    index: i,
                };
                if best.len() < k {
                    best.push(choice);
                } else if best.peek().is_some_and(|b| choice < *b) {
                    best.pop();
                    best.push(choice);
                }
            }
        }
        best.into_sorted_vec()
    }
}

/// Groups of slots linked by shared shortlisted candidates (each group in the slots' order,
/// groups in order of their first slot); slots with an empty shortlist are in no group.
fn components(shortlists: &[Vec<Choice>]) -> Vec<Vec<usize>> {
    fn root(parent: &mut [usize], mut x: usize) -> usize {
        while parent[x] != x {
            parent[x] = parent[parent[x]];
            x = parent[x];
        }
        x
    }
    let mut parent: Vec<usize> = (0..shortlists.len()).collect();
    let mut first_slot: HashMap<u32, usize> = HashMap::new();
    for (s, list) in shortlists.iter().enumerate() {
        for choice in list {
            let other = *first_slot.entry(choice.index).or_insert(s);
            let (a, b) = (root(&mut parent, s), root(&mut parent, other));
            parent[a.max(b)] = a.min(b);
        }
    }
    let mut groups: Vec<Vec<usize>> = Vec::new();
    let mut group_of_root: HashMap<usize, usize> = HashMap::new();
    for s in (0..shortlists.len()).filter(|&s| !shortlists[s].is_empty()) {
        let r = root(&mut parent, s);
        let g = *group_of_root.entry(r).or_insert_with(|| {
            groups.push(Vec::new());
            groups.len() - 1
        });
        groups[g].push(s);
    }
    groups
}

/// Kuhn–Munkres on groups of slots, in turn, each taking only the candidates the groups
/// before it left.
struct Solver<'p, 'a, 's> {
    pool: &'p Pool<'a>,
    views: &'p [View<'s>],
    shortlists: &'p [Vec<Choice>],
    w: &'p Weights,
    assigned: Vec<Option<u32>>,
    taken: Vec<bool>,
}

impl Solver<'_, '_, '_> {
    /// Solve one group on its slots × (its candidates not yet taken, in id order, + one
    /// "unfilled" column per slot), and mark whom it assigns as taken. Leaving a slot unfilled
    /// costs more than any difference in cost a filled slot can make up, so the most slots
    /// are filled first; an ineligible pair costs more still, so it is never chosen while an
    /// "unfilled" column is free (there always is one).
    fn solve(&mut self, group: &[usize]) {
        let mut columns: Vec<Choice> = group
            .iter()
            .flat_map(|&s| self.shortlists[s].iter().copied())
            .filter(|c| !self.taken[c.index as usize])
            .collect();
        columns.sort_by_key(|c| c.rank);
        columns.dedup_by_key(|c| c.index);
        let costs: Vec<Vec<Option<i64>>> = group
            .iter()
            .map(|&s| {
                columns
                    .iter()
                    .map(|c| self.pool.cost(c.index, &self.views[s], self.w))
                    .map(|c| c.map(|x| x.clamp(-COST_CAP, COST_CAP)))
                    .collect()
            })
            .collect();
        let largest = costs
            .iter()
            .flatten()
            .flatten()
            .map(|c| c.abs())
            .max()
            .unwrap_or(0);
        // Filling k + 1 slots instead of k can cost at most (2k + 1) × largest more.
        let rows = group.len() as i64;
        let unfilled = (2 * rows + 1) * largest + 1;
        let forbidden = 2 * unfilled;
        let width = columns.len() + group.len();
        let matrix = Matrix::from_fn(group.len(), width, |(r, col)| match costs[r].get(col) {
            Some(Some(cost)) => *cost,
            Some(None) => forbidden,
            None => unfilled,
        });
        let (_, chosen) = kuhn_munkres_min(&matrix);
        for (r, col) in chosen.into_iter().enumerate() {
            if let Some(Some(_)) = costs[r].get(col) {
                self.assigned[group[r]] = Some(columns[col].index);
                self.taken[columns[col].index as usize] = true;
            }
        }
    }
}
