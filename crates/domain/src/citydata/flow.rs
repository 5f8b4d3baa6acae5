//! Feasibility of a circulation with lower and upper bounds on its edges, by a maximum flow
//! (Dinic) on the usual reduction: each edge keeps `upper - lower`, each node's imbalance of
//! lower bounds goes to a new source or sink, and the circulation exists iff the maximum flow
//! saturates them. [`super::disclosure`] asks it whether a suppressed cell could hold another
//! value than its own while every published figure stays as published.

/// An edge from `from` to `to` carrying between `lower` and `upper`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bounded {
    pub from: usize,
    pub to: usize,
    pub lower: i64,
    pub upper: i64,
}

struct Arc {
    to: usize,
    cap: i64,
}

struct Net {
    arcs: Vec<Arc>,
    out: Vec<Vec<usize>>,
}

impl Net {
    fn new(n: usize) -> Net {
        Net {
            arcs: Vec::new(),
            out: vec![Vec::new(); n],
        }
    }

    fn add(&mut self, from: usize, to: usize, cap: i64) {
        self.out[from].push(self.arcs.len());
        self.arcs.push(Arc { to, cap });
        self.out[to].push(self.arcs.len());
        self.arcs.push(Arc { to: from, cap: 0 });
    }

    fn levels(&self, s: usize, t: usize) -> Option<Vec<i64>> {
        let mut level = vec![-1; self.out.len()];
        level[s] = 0;
        let mut queue = std::collections::VecDeque::from([s]);
        while let Some(u) = queue.pop_front() {
            for &a in &self.out[u] {
                let arc = &self.arcs[a];
                if arc.cap > 0 && level[arc.to] < 0 {
                    level[arc.to] = level[u] + 1;
                    queue.push_back(arc.to);
                }
            }
        }
        (level[t] >= 0).then_some(level)
    }

    fn push(&mut self, u: usize, t: usize, f: i64, level: &[i64], next: &mut [usize]) -> i64 {
        if u == t {
            return f;
        }
        while next[u] < self.out[u].len() {
            let a = self.out[u][next[u]];
            let (to, cap) = (self.arcs[a].to, self.arcs[a].cap);
            if cap > 0 && level[to] == level[u] + 1 {
                let d = self.push(to, t, f.min(cap), level, next);
                if d > 0 {
                    self.arcs[a].cap -= d;
                    self.arcs[a ^ 1].cap += d;
                    return d;
                }
            }
            next[u] += 1;
        }
        0
    }

    fn max_flow(&mut self, s: usize, t: usize) -> i64 {
        let mut total = 0;
        while let Some(level) = self.levels(s, t) {
            let mut next = vec![0; self.out.len()];
            loop {
                let f = self.push(s, t, i64::MAX, &level, &mut next);
                if f == 0 {
                    break;
                }
                total += f;
            }
        }
        total
    }
}

/// Is there a circulation on `nodes` nodes meeting every edge's bounds?
pub fn feasible(nodes: usize, edges: &[Bounded]) -> bool {
    if edges.iter().any(|e| e.lower > e.upper) {
        return false;
    }
    let (s, t) = (nodes, nodes + 1);
    let mut net = Net::new(nodes + 2);
    let mut excess = vec![0i64; nodes];
    for e in edges {
        net.add(e.from, e.to, e.upper - e.lower);
        excess[e.to] += e.lower;
        excess[e.from] -= e.lower;
    }
    let mut need = 0;
    for (v, &x) in excess.iter().enumerate() {
        if x > 0 {
            net.add(s, v, x);
            need += x;
        } else if x < 0 {
            net.add(v, t, -x);
        }
    }
    net.max_flow(s, t) == need
}

#[cfg(test)]
mod tests {
    use super::*;

    fn e(from: usize, to: usize, lower: i64, upper: i64) -> Bounded {
        Bounded {
            from,
            to,
            lower,
            upper,
        }
    }

    #[test]
    fn circulations() {
        // A triangle carrying exactly 3 everywhere.
        assert!(feasible(3, &[e(0, 1, 3, 3), e(1, 2, 0, 9), e(2, 0, 3, 3)]));
        // Two parallel paths must carry 5 between them: 2 + 3 fits, 2 + at most 2 does not.
        let paths = |hi: i64| {
            vec![
                e(0, 1, 2, 2),
                e(0, 2, 0, hi),
                e(1, 3, 0, 9),
                e(2, 3, 0, 9),
                e(3, 0, 5, 5),
            ]
        };
        assert!(feasible(4, &paths(3)));
        assert!(!feasible(4, &paths(2)));
        assert!(!feasible(2, &[e(0, 1, 2, 1)]));
    }
}
