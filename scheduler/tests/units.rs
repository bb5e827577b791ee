mod common;

use bridge_scheduler::units::{ImportProblem, UnitSelector};
use bridge_scheduler::{SchedError, UnitCode};
use common::{data_file, phu_tho};

fn code(s: &str) -> UnitCode {
    UnitCode::parse(s).unwrap()
}

fn problems(e: SchedError) -> Vec<ImportProblem> {
    match e {
        SchedError::Import(p) => p,
        other => panic!("expected an import error, got {other:?}"),
    }
}

both_dbs!(
    phu_tho_tree_loads_with_rooms_and_subtrees,
    |db| async move {
        phu_tho(&db).await;
        assert_eq!(db.unit_count().await.unwrap(), 221);
        let roots = db.unit_children(None).await.unwrap();
        assert_eq!(roots.len(), 1);
        assert_eq!(roots[0].name, "Tỉnh Phú Thọ");
        assert_eq!(roots[0].room.0, "u-25");
        let districts = db.unit_children(Some(&code("25"))).await.unwrap();
        assert_eq!(districts.len(), 13);
        let communes = db.unit_subtree(&code("25"), Some(3)).await.unwrap();
        assert_eq!(communes.len(), 207);
        // Leading zeros survive the round trip.
        let c = db.unit(&code("07888")).await.unwrap();
        assert_eq!(c.path, "/25/227/07888/");
        assert_eq!(c.parent, Some(code("227")));
        assert_eq!(c.room.0, "u-07888");
        // Every commune of Thanh Sơn and nothing else.
        let thanh_son = db.search_units("thanh sơn", 10).await.unwrap();
        let district = thanh_son
            .iter()
            .find(|u| u.level == 2)
            .expect("district found");
        let its = db.unit_subtree(&district.code, Some(3)).await.unwrap();
        assert!(!its.is_empty());
        assert!(
            its.iter()
                .all(|u| u.parent.as_ref() == Some(&district.code))
        );
    }
);

both_dbs!(selection_mixes_expand_without_duplicates, |db| async move {
    phu_tho(&db).await;
    let districts = db.unit_children(Some(&code("25"))).await.unwrap();
    let d = &districts[0];
    let sel = vec![
        UnitSelector::ChildrenOf { code: code("25") },
        UnitSelector::DescendantsAtLevel {
            code: d.code.clone(),
            level: 3,
        },
        UnitSelector::Unit {
            code: d.code.clone(),
        },
    ];
    let units = db.expand_selection(&sel).await.unwrap();
    let of_d = db.unit_children(Some(&d.code)).await.unwrap().len();
    assert_eq!(units.len(), 13 + of_d);
    let err = db
        .expand_selection(&[UnitSelector::Unit {
            code: code("99999"),
        }])
        .await
        .unwrap_err();
    assert!(matches!(err, SchedError::UnknownUnits(ref c) if c == &vec!["99999".to_string()]));
});

both_dbs!(
    bad_csv_is_refused_whole_with_line_numbers,
    |db| async move {
        let dup =
            "code,parent_code,level,kind,name\n01,,1,tỉnh,A\n001,01,2,huyện,B\n001,01,2,huyện,C\n";
        let p = problems(db.import_units(dup.as_bytes()).await.unwrap_err());
        assert_eq!(
            p,
            vec![ImportProblem::DuplicateCode {
                line: 4,
                code: "001".into(),
                first_line: 3
            }]
        );
        assert_eq!(db.unit_count().await.unwrap(), 0, "nothing written");

        let orphan = "code,parent_code,level,kind,name\n01,,1,tỉnh,A\n002,09,2,huyện,B\n";
        let p = problems(db.import_units(orphan.as_bytes()).await.unwrap_err());
        assert!(
            matches!(&p[0], ImportProblem::UnknownParent { line: 3, parent, .. } if parent == "09")
        );

        let cycle = "code,parent_code,level,kind,name\n01,,1,tỉnh,A\n10,11,2,x,B\n11,10,2,x,C\n";
        let p = problems(db.import_units(cycle.as_bytes()).await.unwrap_err());
        assert!(matches!(&p[0], ImportProblem::Cycle { cycle, .. } if cycle.len() == 3));

        let level = "code,parent_code,level,kind,name\n01,,1,tỉnh,A\n001,01,3,huyện,B\n";
        let p = problems(db.import_units(level.as_bytes()).await.unwrap_err());
        assert_eq!(
            p,
            vec![ImportProblem::BadLevel {
                line: 3,
                code: "001".into(),
                level: 3,
                expected: 2
            }]
        );

        let junk = "code,parent_code,level,kind,name\n0/1,,1,tỉnh,A\n02,,x,tỉnh,B\n";
        let p = problems(db.import_units(junk.as_bytes()).await.unwrap_err());
        assert_eq!(p.len(), 2);

        let no_header = "code,name\n01,A\n";
        let p = problems(db.import_units(no_header.as_bytes()).await.unwrap_err());
        assert!(matches!(
            &p[0],
            ImportProblem::MissingColumn {
                column: "parent_code",
                ..
            }
        ));
        assert_eq!(db.unit_count().await.unwrap(), 0, "nothing written");

        // A second import of the same file is refused, not merged silently.
        phu_tho(&db).await;
        let f = std::fs::File::open(data_file("units-phu-tho.csv")).unwrap();
        let p = problems(db.import_units(f).await.unwrap_err());
        assert!(matches!(&p[0], ImportProblem::AlreadyExists { .. }));
        assert_eq!(db.unit_count().await.unwrap(), 221);
    }
);

both_dbs!(two_tier_file_with_coordinates_loads, |db| async move {
    let f = std::fs::File::open(data_file("units-vn-2025.csv")).unwrap();
    let r = db.import_units(f).await.unwrap();
    assert_eq!(r.units, 3339);
    let hn = db.unit(&code("01")).await.unwrap();
    assert!(hn.lat.is_some_and(|l| (l - 21.0).abs() < 0.5));
    let wards = db.unit_subtree(&code("01"), Some(2)).await.unwrap();
    assert!(wards.len() > 100);
});

both_dbs!(national_tree_loads_in_seconds, |db| async move {
    let f = std::fs::File::open(data_file("units-vn.csv")).unwrap();
    let t = std::time::Instant::now();
    let r = db.import_units(f).await.unwrap();
    let took = t.elapsed();
    eprintln!("units-vn.csv: {} units in {took:?}", r.units);
    assert_eq!(r.units, 10_810);
    assert!(took.as_secs() < 30, "import took {took:?}");
    // Hà Nội had 526 communes/wards in the three-tier list.
    assert_eq!(
        db.unit_subtree(&code("01"), Some(3)).await.unwrap().len(),
        526
    );
});
