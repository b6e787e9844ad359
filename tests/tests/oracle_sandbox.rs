//! Portcullis against the backends' own authorizers, on generated organisations (see
//! `portcullis_e2e::oracle`). Real servers: a throwaway OpenBao dev server and PostgreSQL 15
//! cluster per seed, loaded with `portcullis-orggen`'s organisation for that seed.
//!
//! `make test` runs a few seeds; the longer run is
//! `PORTCULLIS_ORACLE_SEEDS=1..50 [PORTCULLIS_ORACLE_SIZE=large] cargo test -p portcullis-e2e --test oracle_sandbox`
//! (`make oracle`).

use portcullis_e2e::oracle::{seeds, size, Loaded, Report};

fn run(seed: u64) -> Report {
    let loaded = Loaded::new(seed, size()).unwrap_or_else(|e| panic!("seed {seed}: {e}"));
    let org = portcullis_e2e::artifacts_dir()
        .expect("artifacts directory")
        .join(format!("oracle-seed-{seed}.org.json"));
    std::fs::write(
        &org,
        serde_json::to_string_pretty(&loaded.org).expect("org as JSON"),
    )
    .expect("writing the organisation");
    let mut report = Report {
        seed,
        ..Report::default()
    };
    loaded
        .compare_vault(&mut report)
        .unwrap_or_else(|e| panic!("seed {seed}: {e}"));
    loaded
        .compare_postgres(&mut report)
        .unwrap_or_else(|e| panic!("seed {seed}: {e}"));
    loaded
        .compare_selection(&mut report)
        .unwrap_or_else(|e| panic!("seed {seed}: {e}"));
    report
}

#[test]
fn who_can_agrees_with_the_servers_on_generated_organisations() {
    let mut failed = Vec::new();
    let mut compared = 0;
    for seed in seeds(&[1, 2]) {
        let report = run(seed);
        compared += report.compared;
        eprintln!("{}", report.summary(0));
        let file = portcullis_e2e::artifacts_dir()
            .expect("artifacts directory")
            .join(format!("oracle-seed-{seed}.txt"));
        std::fs::write(&file, report.summary(usize::MAX)).expect("writing the oracle report");
        if !report.disagreements.is_empty() {
            failed.push(report.summary(12));
        }
    }
    assert!(compared > 0, "nothing was compared");
    assert!(failed.is_empty(), "{}", failed.join("\n"));
}
