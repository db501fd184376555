use super::*;
use rand::Rng;
use rand_chacha::rand_core::SeedableRng;

const EYERISS: RlcFormat = RlcFormat {
    run_bits: 5,
    level_bits: 16,
    word_bits: 64,
};
const FLAG: u64 = 1 << 63;
/// Pair slot k of an eyeriss word.
fn slot(k: u32, run: u64, level: i16) -> u64 {
    (run | (u64::from(level as u16) << 5)) << (21 * k)
}
const PAD: u64 = 31;

#[test]
fn eyeriss_geometry() {
    assert_eq!(EYERISS.max_run(), 31);
    assert_eq!(EYERISS.pairs_per_word(), 3);
}

#[test]
fn empty_stream_has_no_words() {
    assert!(encode(&[], &EYERISS).is_empty());
    assert_eq!(decode(&[], &EYERISS), Ok(vec![]));
    assert_eq!(encoded_words16(&[], &EYERISS), 0);
}

#[test]
fn hand_encoded_single_word() {
    let words = encode(&[0, 0, 5, -1], &EYERISS);
    let want = slot(0, 2, 5) | slot(1, 0, -1) | slot(2, PAD, 0) | FLAG;
    assert_eq!(words, vec![want]);
    assert_eq!(words[0], 0x8000_7FFF_FC00_00A2);
}

#[test]
fn hand_encoded_trailing_zeros() {
    // One trailing zero after a value: (0, 7), (0, 0).
    assert_eq!(
        encode(&[7, 0], &EYERISS),
        vec![slot(0, 0, 7) | slot(1, 0, 0) | slot(2, PAD, 0) | FLAG]
    );
    // Three zeros alone: (2, 0).
    assert_eq!(
        encode(&[0, 0, 0], &EYERISS),
        vec![slot(0, 2, 0) | slot(1, PAD, 0) | slot(2, PAD, 0) | FLAG]
    );
}

#[test]
fn hand_encoded_long_runs() {
    // 33 zeros then 9: (31, 0) covers 32 zeros, then (1, 9).
    let mut v = vec![0i16; 33];
    v.push(9);
    assert_eq!(
        encode(&v, &EYERISS),
        vec![slot(0, 31, 0) | slot(1, 1, 9) | slot(2, PAD, 0) | FLAG]
    );
    // Exactly 32 trailing zeros must not end in (31, 0): (30, 0), (0, 0).
    assert_eq!(
        encode(&[0; 32], &EYERISS),
        vec![slot(0, 30, 0) | slot(1, 0, 0) | slot(2, PAD, 0) | FLAG]
    );
    // 31 zeros: (30, 0).
    assert_eq!(
        encode(&[0; 31], &EYERISS),
        vec![slot(0, 30, 0) | slot(1, PAD, 0) | slot(2, PAD, 0) | FLAG]
    );
}

#[test]
fn hand_encoded_two_words() {
    let v = [1, 2, 3, 4];
    assert_eq!(
        encode(&v, &EYERISS),
        vec![
            slot(0, 0, 1) | slot(1, 0, 2) | slot(2, 0, 3),
            slot(0, 0, 4) | slot(1, PAD, 0) | slot(2, PAD, 0) | FLAG
        ]
    );
    assert_eq!(encoded_words16(&v, &EYERISS), 8);
}

fn sparse(rng: &mut rand_chacha::ChaCha8Rng, len: usize, zero_fraction: f64) -> Vec<i16> {
    (0..len)
        .map(|_| {
            if rng.gen_bool(zero_fraction) {
                0
            } else {
                match rng.gen_range(0..4) {
                    0 => i16::MIN,
                    1 => i16::MAX,
                    _ => rng.gen_range(-300..300),
                }
            }
        })
        .collect()
}

#[test]
fn round_trips_random_sparse_vectors() {
    let formats = [
        EYERISS,
        RlcFormat {
            run_bits: 1,
            level_bits: 16,
            word_bits: 64,
        },
        RlcFormat {
            run_bits: 2,
            level_bits: 16,
            word_bits: 18 + 1,
        },
        RlcFormat {
            run_bits: 4,
            level_bits: 20,
            word_bits: 64,
        },
        RlcFormat {
            run_bits: 8,
            level_bits: 16,
            word_bits: 32,
        },
    ];
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(11);
    for fmt in &formats {
        for &z in &[0.0, 0.1, 0.5, 0.9, 0.97, 1.0] {
            for len in (0..70).chain([95, 96, 97, 128, 200, 1000]) {
                let v = sparse(&mut rng, len, z);
                let words = encode(&v, fmt);
                assert_eq!(
                    decode(&words, fmt).as_ref(),
                    Ok(&v),
                    "{fmt:?} z={z} len={len}"
                );
                let per_word = u64::from(fmt.word_bits.div_ceil(16));
                assert_eq!(encoded_words16(&v, fmt), words.len() as u64 * per_word);
                assert_eq!(encoded_words(&v, fmt), words.len() as u64);
            }
        }
    }
}

#[test]
fn all_zero_runs_of_every_length_round_trip() {
    for fmt in [
        EYERISS,
        RlcFormat {
            run_bits: 1,
            level_bits: 16,
            word_bits: 64,
        },
    ] {
        for len in 0..200 {
            for tail in [None, Some(3i16)] {
                let mut v = vec![0i16; len];
                v.extend(tail);
                assert_eq!(
                    decode(&encode(&v, &fmt), &fmt),
                    Ok(v.clone()),
                    "len {len} {fmt:?}"
                );
            }
        }
    }
}

#[test]
fn sparse_data_compresses() {
    let mut v = vec![0i16; 1000];
    v[500] = 1;
    // 1000 zeros ~ 31 pairs of 32 zeros + a few: ~12 words = 48 16-bit words.
    assert!(encoded_words16(&v, &EYERISS) < 60);
    // Dense data costs 64/48 of raw size, rounded up per word.
    let dense = vec![1i16; 999];
    assert_eq!(encoded_words16(&dense, &EYERISS), 333 * 4);
}

#[test]
fn decode_rejects_missing_and_early_flags() {
    let words = encode(&[1, 2, 3, 4], &EYERISS);
    let mut no_flag = words.clone();
    no_flag[1] &= !FLAG;
    assert_eq!(
        decode(&no_flag, &EYERISS),
        Err(RlcError::MissingLastFlag { words: 2 })
    );
    let mut early = words.clone();
    early[0] |= FLAG;
    assert_eq!(
        decode(&early, &EYERISS),
        Err(RlcError::EarlyLastFlag { index: 0, words: 2 })
    );
}

#[test]
fn decode_rejects_garbage_bits_and_empty_last_word() {
    let fmt = RlcFormat {
        run_bits: 4,
        level_bits: 16,
        word_bits: 64,
    };
    // 3 pairs of 20 bits = 60 bits; bits 60..63 are padding.
    let mut w = encode(&[5], &fmt);
    w[0] |= 1 << 61;
    assert_eq!(decode(&w, &fmt), Err(RlcError::PaddingBits { index: 0 }));
    let empty = slot(0, PAD, 0) | slot(1, PAD, 0) | slot(2, PAD, 0) | FLAG;
    assert_eq!(decode(&[empty], &EYERISS), Err(RlcError::EmptyLastWord));
}

#[test]
fn decode_rejects_levels_wider_than_16_bits() {
    let fmt = RlcFormat {
        run_bits: 4,
        level_bits: 20,
        word_bits: 64,
    };
    let pair = u64::from(0x1_0000u32) << 4; // level 65536
                                            // 24-bit pairs: two per word, the second a (15, 0) pad.
    let word = pair | (15 << 24) | (1 << 63);
    assert_eq!(
        decode(&[word], &fmt),
        Err(RlcError::LevelRange {
            index: 0,
            level: 65536
        })
    );
}

#[test]
fn unusable_formats_are_named() {
    for fmt in [
        RlcFormat {
            run_bits: 0,
            level_bits: 16,
            word_bits: 64,
        },
        RlcFormat {
            run_bits: 5,
            level_bits: 8,
            word_bits: 64,
        },
        RlcFormat {
            run_bits: 5,
            level_bits: 16,
            word_bits: 128,
        },
        RlcFormat {
            run_bits: 5,
            level_bits: 16,
            word_bits: 21,
        },
    ] {
        assert!(
            matches!(check_format(&fmt), Err(RlcError::Format { .. })),
            "{fmt:?}"
        );
        assert!(decode(&[], &fmt).is_err());
        assert!(try_encode(&[1], &fmt).is_err());
    }
    assert_eq!(check_format(&EYERISS), Ok(()));
}

#[test]
fn sizes_of_words_wider_than_64_bits() {
    // A validated config may use 128-bit words: 6 pairs of 21 bits + flag.
    let wide = RlcFormat {
        run_bits: 5,
        level_bits: 16,
        word_bits: 128,
    };
    assert_eq!(wide.pairs_per_word(), 6);
    assert_eq!(encoded_words16(&[1; 13], &wide), 3 * 8);
    // A 19-bit word still occupies two whole 16-bit words.
    let odd = RlcFormat {
        run_bits: 2,
        level_bits: 16,
        word_bits: 19,
    };
    assert_eq!(encoded_words16(&[1; 5], &odd), 10);
}

#[test]
fn pair_count_matches_the_closed_form() {
    // Pairs end at every non-zero, at every (max_run+1)-th zero of a run, and
    // once more at the end when the stream ends in zeros.
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(5);
    for _ in 0..200 {
        let len = rng.gen_range(0..400);
        let zero = rng.gen_range(0.0..1.0);
        let v = sparse(&mut rng, len, zero);
        let mut expected = 0u64;
        let mut run = 0u64;
        for &x in &v {
            if x != 0 {
                expected += 1;
                run = 0;
            } else {
                run += 1;
                if run == 32 {
                    expected += 1;
                    run = 0;
                }
            }
        }
        if v.last() == Some(&0) {
            expected += 1;
        }
        assert_eq!(pair_count(&v, &EYERISS), expected, "{v:?}");
    }
}
