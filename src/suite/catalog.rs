//! The cases: Autobahn's ids, descriptions and expectations ([`catalog_data`]), and the
//! selection of cases a spec makes with Autobahn's patterns.
//!
//! [`catalog_data`]: super::catalog_data

pub(crate) use super::catalog_data::CASES;

/// One case as Autobahn describes it.
#[derive(Debug)]
pub(crate) struct Info {
    /// `1.1.1` … `13.7.18`.
    pub(crate) id: &'static str,
    /// May hold HTML (the report shows it as such).
    pub(crate) description: &'static str,
    pub(crate) expectation: &'static str,
}

impl Info {
    /// The description up to its first HTML tag, whitespace collapsed (Autobahn's
    /// `caseClassToPrettyDescription`, what `/getCaseInfo` answers).
    pub(crate) fn pretty_description(&self) -> String {
        let plain = self.description.split('<').next().unwrap_or_default();
        plain.split_whitespace().collect::<Vec<_>>().join(" ")
    }
}

/// The case with id `id`.
pub(crate) fn by_id(id: &str) -> Option<&'static Info> {
    CASES.iter().find(|c| c.id == id)
}

/// `1.2.10` as numbers, for Autobahn's order.
fn id_key(id: &str) -> Vec<u32> {
    id.split('.')
        .map(|p| p.parse().unwrap_or(u32::MAX))
        .collect()
}

/// Whether case `id` matches `pattern`, Autobahn's way: `*` matches any text (dots
/// included), anything else itself; a pattern with no `*` names one case.
pub(crate) fn matches(pattern: &str, id: &str) -> bool {
    fn go(p: &[u8], s: &[u8]) -> bool {
        match p.split_first() {
            None => s.is_empty(),
            Some((b'*', rest)) => (0..=s.len()).any(|i| go(rest, &s[i..])),
            Some((c, rest)) => s.first() == Some(c) && go(rest, &s[1..]),
        }
    }
    go(pattern.as_bytes(), id.as_bytes())
}

/// The cases `cases` selects less those `exclude` does, in Autobahn's order (numeric by
/// id part), as indices into [`CASES`]. A pattern that matches no case is an error:
/// a typo would otherwise test nothing.
pub(crate) fn select(cases: &[String], exclude: &[String]) -> Result<Vec<usize>, String> {
    for p in cases.iter().chain(exclude) {
        if !CASES.iter().any(|c| matches(p, c.id)) {
            return Err(format!(
                "no case matches {p:?} (cases are 1.1.1 to 13.7.18)"
            ));
        }
    }
    let mut chosen: Vec<usize> = (0..CASES.len())
        .filter(|&i| cases.iter().any(|p| matches(p, CASES[i].id)))
        .filter(|&i| !exclude.iter().any(|p| matches(p, CASES[i].id)))
        .collect();
    chosen.sort_by_key(|&i| id_key(CASES[i].id));
    Ok(chosen)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_catalog_holds_autobahns_517_cases_in_its_order() {
        assert_eq!(CASES.len(), 517);
        assert_eq!(CASES[0].id, "1.1.1");
        assert_eq!(CASES[516].id, "13.7.18");
        let all = select(&["*".to_string()], &[]).unwrap();
        assert_eq!(all, (0..517).collect::<Vec<_>>());
    }

    #[test]
    fn patterns_select_and_exclude_as_autobahns_do() {
        let s = |c: &[&str], e: &[&str]| {
            let c: Vec<String> = c.iter().map(|s| s.to_string()).collect();
            let e: Vec<String> = e.iter().map(|s| s.to_string()).collect();
            select(&c, &e).map(|v| v.iter().map(|&i| CASES[i].id).collect::<Vec<_>>())
        };
        assert_eq!(s(&["2.*"], &["2.1*"]).unwrap().len(), 11 - 3);
        assert_eq!(s(&["1.1.1", "1.1.1"], &[]).unwrap(), vec!["1.1.1"]);
        assert!(s(&["1.1.10"], &[]).is_err());
        assert!(matches("9.*", "9.1.1") && !matches("9.*", "10.1.1"));
    }

    #[test]
    fn the_pretty_description_stops_at_the_first_tag() {
        let c = by_id("6.4.1").unwrap();
        let d = c.pretty_description();
        assert!(d.starts_with("Send invalid UTF-8 text message in 3 fragments"));
        assert!(!d.contains('<') && !d.contains('\n'));
    }
}
