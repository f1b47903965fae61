"""Labels CSVs as people write them: separator sniffed, decimal commas, a trailing %, BOM, CRLF, cp1252,
and an unreadable value that still names its row (data/echonet.py, ``_csv_table``)."""

import pytest

from echo_fixtures import make_dynamic, ramp_frames, write_video
from infomotion_rt.data.loader import load_dataset
from infomotion_rt.errors import DataError


@pytest.fixture
def plain(tmp_path):
    root = tmp_path / "plain"
    for name in ("a", "b", "c"):
        write_video(root / f"{name}.avi", ramp_frames(5))
    return root


def _labels(root, text, encoding="utf-8"):
    (root / "labels.csv").write_bytes(text.encode(encoding))
    return load_dataset(root)


def test_european_excel_semicolons_and_decimal_commas(plain):
    ds = _labels(plain, "FileName;EF;Split\r\na.avi;55,3;TRAIN\r\nb;61,0;VAL\r\nc;40;TEST\r\n")
    assert ds.layout == "plain" and not ds.dropped and not ds.problems
    assert [(r.name, r.ef, r.split) for r in ds.records] == [("a", 55.3, "TRAIN"), ("b", 61.0, "VAL"), ("c", 40.0, "TEST")]


def test_tab_separated_with_bom_and_percent_signs(plain):
    ds = _labels(plain, "\ufeffFileName\tEF\tSplit\na\t55%\tTRAIN\nb\t62,5 %\tTEST\nc\t 48 \tVAL\n")
    assert [r.ef for r in ds.records] == [55.0, 62.5, 48.0] and not ds.dropped


def test_comma_file_keeps_quoted_commas_as_text_and_percent(plain):
    ds = _labels(plain, 'FileName,EF,Split,Note\na,55%,TRAIN,"seen, twice"\nb,61.5,VAL,\nc,40,TEST,x\n')
    assert [r.ef for r in ds.records] == [55.0, 61.5, 40.0] and not ds.dropped


def test_cp1252_export_with_an_accented_column(plain):
    ds = _labels(plain, "FileName;EF;Split;Größe\na;55,5;TRAIN;1,80\nb;60;VAL;1,7\nc;45;TEST;1,6\n", "cp1252")
    assert [r.ef for r in ds.records] == [55.5, 60.0, 45.0]


def test_an_unreadable_value_names_its_row(plain):
    ds = _labels(plain, "FileName;EF;Split\na;55,3;TRAIN\nb;abc;VAL\nc;40;TEST\n")
    assert [r.name for r in ds.records] == ["a", "c"]
    lines = ds.problems.lines()
    assert any("labels.csv line 3" in line and "'abc'" in line for line in lines), lines


def test_missing_columns_still_name_the_header(plain):
    (plain / "labels.csv").write_text("FileName;Ejection;Split\na;55;TRAIN\n")
    with pytest.raises(DataError, match=r"missing column\(s\) EF \(has FileName, Ejection, Split; separators tried"):
        load_dataset(plain, labels_csv=plain / "labels.csv")


def _european(cell: str) -> str:
    try:
        float(cell)
    except ValueError:
        return cell
    return cell.replace(".", ",")


def test_semicolon_filelist_and_tracings_of_the_dynamic_layout(tmp_path):
    root = make_dynamic(tmp_path / "dyn")
    for csv_name in ("FileList.csv", "VolumeTracings.csv"):
        path = root / csv_name
        text = path.read_text()
        path.write_text("\r\n".join(";".join(_european(cell) for cell in line.split(","))
                                    for line in text.splitlines()) + "\r\n")
    ds = load_dataset(root)
    assert len(ds) == 4 and not ds.dropped
    assert all(r.ef == 51.0 and r.tracings is not None for r in ds.records)
    assert ds.records[0].traced_ef == pytest.approx(51.0)


def test_a_decimal_comma_in_a_comma_separated_row_drops_it_with_a_reason(plain):
    ds = _labels(plain, "FileName,EF,Split\na,55,3,TRAIN\nb,61,VAL\nc,40,TEST\n")
    assert [r.name for r in ds.records] == ["b", "c"]
    line = next(line for line in ds.problems.lines() if "labels.csv line 2" in line)
    assert "4 cells where the header has 3" in line and "decimal comma" in line


def test_excel_sep_line_and_notes_that_name_their_row(plain):
    ds = _labels(plain, "sep=;\nFileName;EF;Split\na;0,55;TRAIN\nb;61;Validation\nc;40;TEST\n")
    assert [(r.name, r.ef) for r in ds.records] == [("a", 0.55), ("b", 61.0), ("c", 40.0)]
    lines = ds.problems.lines()
    assert any("labels.csv line 3" in x and "looks like a fraction" in x for x in lines), lines
    assert any("labels.csv line 4" in x and "'VALIDATION'" in x for x in lines), lines
