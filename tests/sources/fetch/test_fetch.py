"""Fetching and loading against the local publisher site: every source (EPD and SCMD from the
recorded CKAN answers, list sizes and QOF through NHS England's pages, ODS epraccur), real files
from ../shared/data, and the warehouse's ledger as the judge of what was loaded."""

from __future__ import annotations

import gzip
import hashlib
import json
from pathlib import Path

import pytest

from uptake.sources import read_file
from uptake.sources.fetch import SOURCES, Fetcher, FetchError, NotPublished, SchemaChanged, VerifyError


@pytest.fixture
def fetcher(home, settings):
    return Fetcher(home, settings)


def _count(warehouse, sql: str):
    con = warehouse.connect()
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def _downloads(home: Path) -> list[str]:
    root = home / "downloads"
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()
                  and p.name not in ("fetched.json", "lock"))


# --- listing ---------------------------------------------------------------------------------------


def test_listing_reads_the_ckan_resources_of_each_month(nhs, fetcher):
    items = fetcher.items(SOURCES["epd"])
    assert [(i.period, i.name, i.size) for i in items] == [("2017-09", "EPD_201709", 250113),
                                                          ("2017-10", "EPD_201710", 178230)]
    assert items[0].hash == "dddf10959a3d0d2249d96c7c41e9371530d322d759a6be3ca2d0a238aadd0c1f"
    assert items[1].hash is None  # CKAN's blank hash: not checked
    assert items[0].url == nhs.site.url(nhs.epd_paths["2017-09"]) and items[0].filename == "epd_201709.csv.gz"
    assert [r["state"] for r in fetcher.status(SOURCES["epd"])] == ["not loaded", "not loaded"]


def test_scmd_listing_prefers_final_over_provisional_over_wip(nhs, fetcher):
    items = fetcher.items(SOURCES["scmd"])
    assert [(i.period, i.name, i.kind) for i in items] == [("2019-01", "SCMD_FINAL_201901", "final"),
                                                          ("2019-02", "SCMD_PROVISIONAL_201902", "provisional"),
                                                          ("2019-03", "SCMD_WIP_201903", "wip")]


def test_an_unknown_dataset_is_one_clear_line(nhs, home, make_settings, recorded_json):
    nhs.site.json("/nhsbsa/api/3/action/package_show?id=no-such-dataset", recorded_json(
        "nhsbsa_package_show_not_found.json"), status=404)
    fetcher = Fetcher(home, make_settings(epd_dataset="no-such-dataset"))
    with pytest.raises(FetchError) as info:
        fetcher.items(SOURCES["epd"])
    assert "has no dataset 'no-such-dataset' (HTTP 404)" in str(info.value) and "\n" not in str(info.value)


def test_a_503_from_the_api_then_success(nhs, fetcher):
    nhs.site.routes[nhs.EPD_API].script = [("fail", 503)]
    assert [i.period for i in fetcher.items(SOURCES["epd"])] == ["2017-09", "2017-10"]
    assert [r["status"] for r in nhs.site.requests(nhs.EPD_API)] == [503, 200]


# --- download and load -------------------------------------------------------------------------------


def test_fetch_epd_loads_every_row_and_records_the_load(nhs, fetcher, warehouse, home, rows_in):
    outcomes = fetcher.fetch("epd", ["2017-09", "2017-10"])
    assert [(o.period, o.action) for o in outcomes] == [("2017-09", "loaded"), ("2017-10", "loaded")]
    counts = dict(_count(warehouse, "SELECT strftime(month, '%Y-%m'), count(*) FROM prescribing GROUP BY 1"))
    assert counts == {p: rows_in(f) for p, f in nhs.epd.items()} == {"2017-09": 10_027, "2017-10": 10_223}
    for period, source in nhs.epd.items():
        expected = read_file(source).table
        items, cost = _count(warehouse, f"SELECT sum(items), round(sum(actual_cost), 2) FROM prescribing "
                                        f"WHERE month = DATE '{period}-01'")[0]
        assert items == sum(expected.column("items").to_pylist())
        assert cost == round(sum(expected.column("actual_cost").to_pylist()), 2)
    loads = warehouse.state()["loads"]
    assert [(ld["sha256"], ld["months"], ld["format"]) for ld in loads] == [
        (hashlib.sha256(f.read_bytes()).hexdigest(), [p], "epd_2017") for p, f in nhs.epd.items()]
    record = json.loads((home / "downloads" / "fetched.json").read_text())["items"]
    assert record["epd/2017-09"]["files"][0]["sha256"] == loads[0]["sha256"]
    assert _downloads(home) == []  # loaded files are removed unless --keep
    assert [r["status"] for r in nhs.site.requests(nhs.epd_paths["2017-09"])] == [200]


def test_keep_leaves_the_downloaded_bytes_equal_to_the_publishers(nhs, home, settings):
    Fetcher(home, settings, keep=True).fetch("epd", ["2017-09"])
    assert _downloads(home) == ["epd/2017-09/epd_201709.csv.gz"]
    assert (home / "downloads" / "epd" / "2017-09" / "epd_201709.csv.gz").read_bytes() == nhs.epd["2017-09"].read_bytes()


def test_download_only_loads_nothing(nhs, home, settings, warehouse):
    (outcome,) = Fetcher(home, settings).fetch("epd", ["2017-10"], load=False)
    assert outcome.action == "downloaded"
    assert (home / "downloads" / "epd" / "2017-10" / "epd_201710.csv.gz").read_bytes() == nhs.epd["2017-10"].read_bytes()
    assert warehouse.state()["loads"] == []


def test_fetching_again_loads_nothing_and_downloads_nothing(nhs, fetcher, warehouse):
    fetcher.fetch("epd", ["2017-09", "2017-10"])
    before = warehouse.state()
    nhs.site.clear()
    outcomes = fetcher.fetch("epd", ["2017-09", "2017-10"])
    assert [o.action for o in outcomes] == ["up_to_date", "up_to_date"]
    assert [r["path"] for r in nhs.site.requests()] == [nhs.EPD_API]
    assert warehouse.state() == before


def test_a_revised_file_is_fetched_again(nhs, fetcher, warehouse):
    fetcher.fetch("epd", ["2017-10"])
    nhs.epd_json["result"]["resources"][2]["last_modified"] = "2020-04-01T09:00:00.000000"
    nhs.serve_epd_json()
    (step,) = fetcher.plan(SOURCES["epd"], ["2017-10"])
    assert step.action == "fetch"
    (again,) = fetcher.run(SOURCES["epd"], [step])
    assert again.action == "unchanged"  # the same bytes: the warehouse already holds them


def test_a_month_not_published_is_named(nhs, fetcher):
    with pytest.raises(NotPublished) as info:
        fetcher.fetch("epd", ["2017-09", "2024-01"])
    assert "2024-01 not published" in str(info.value) and "2017-09 to 2017-10" in str(info.value)


def test_a_dropped_connection_mid_file_still_loads_every_row(nhs, fetcher, warehouse, rows_in):
    nhs.site.routes[nhs.epd_paths["2017-09"]].script = [("drop", 123_456)]
    (outcome,) = fetcher.fetch("epd", ["2017-09"])
    assert outcome.action == "loaded" and outcome.resumed_from == 123_456
    assert _count(warehouse, "SELECT count(*) FROM prescribing")[0][0] == rows_in(nhs.epd["2017-09"])
    assert warehouse.state()["loads"][0]["sha256"] == hashlib.sha256(nhs.epd["2017-09"].read_bytes()).hexdigest()
    assert [r["Range"] for r in nhs.site.requests(nhs.epd_paths["2017-09"])] == [None, "bytes=123456-"]


def test_scmd_loads_the_final_month(nhs, fetcher, warehouse):
    (outcome,) = fetcher.fetch("scmd", ["2019-01"])
    assert outcome.action == "loaded" and outcome.files[0]["format"] == "scmd_reduced"
    expected = nhs.scmd["SCMD_FINAL_201901"].decode().count("\n") - 1
    assert _count(warehouse, "SELECT count(*) FROM scmd WHERE month = DATE '2019-01-01'")[0][0] == expected > 0


def test_list_sizes_through_the_publication_pages(nhs, fetcher, warehouse):
    (outcome,) = fetcher.fetch("list-sizes")
    assert outcome.period == "2016-01" and outcome.action == "loaded"
    assert outcome.url.endswith("/Patient_List_Size_2016_01-03_age_sex.csv.gz")
    expected = read_file(nhs.list_sizes).table.num_rows
    rows = _count(warehouse, "SELECT strftime(month, '%Y-%m'), count(*) FROM list_sizes GROUP BY 1 ORDER BY 1")
    assert [m for m, _ in rows] == ["2016-01", "2016-02", "2016-03"] and sum(n for _, n in rows) == expected


def test_qof_registers_from_the_raw_data_zip(nhs, fetcher, warehouse, tmp_path):
    (outcome,) = fetcher.fetch("qof", ["2018-19"])
    assert outcome.action == "loaded" and outcome.files[0]["member"] == "qofGP_1819_CardioVascular.csv"
    member = tmp_path / "qofGP_1819_CardioVascular.csv"
    member.write_bytes(nhs.qof_member)
    expected = read_file(member).table
    got = _count(warehouse, "SELECT year, count(*), sum(patients) FROM qof_registers GROUP BY 1 ORDER BY 1")
    by_year = {}
    for year, patients in zip(expected.column("year").to_pylist(), expected.column("patients").to_pylist()):
        n, s = by_year.get(year, (0, 0))
        by_year[year] = (n + 1, s + patients)
    assert [(y, n, s) for y, (n, s) in sorted(by_year.items())] == got
    assert warehouse.state()["loads"][0]["sha256"] == hashlib.sha256(nhs.qof_member).hexdigest()


def test_ods_is_fetched_then_asked_for_only_if_changed(nhs, fetcher, warehouse):
    (first,) = fetcher.fetch("ods")
    assert first.action == "loaded"
    assert _count(warehouse, "SELECT count(*) FROM organisations WHERE source = 'epraccur'")[0][0] > 15_000
    (second,) = fetcher.fetch("ods")
    assert second.action == "not_modified"
    last = nhs.site.requests(nhs.ODS_REPORT)[-1]
    assert last["status"] == 304 and last["If-None-Match"] == nhs.site.routes[nhs.ODS_REPORT].etag
    assert len(warehouse.state()["loads"]) == 1


# --- refusals: nothing half-loaded ------------------------------------------------------------------------


def _changed_columns(source: Path, rename: tuple[str, str] | None = None, add: str | None = None) -> bytes:
    """The real file with a column renamed, or one (empty) column added at the end."""
    text = gzip.decompress(source.read_bytes()).decode()
    end = "\r\n" if "\r\n" in text[:5000] else "\n"
    header, *lines = text.split(end)
    columns = [rename[1] if rename and c == rename[0] else c for c in header.split(",")]
    if add:
        columns.append(add)
        lines = [line + "," if line else line for line in lines]
    return gzip.compress(end.join([",".join(columns), *lines]).encode())


def test_a_changed_schema_names_new_and_missing_columns_and_loads_nothing(nhs, fetcher, warehouse):
    fetcher.fetch("epd", ["2017-09"])
    before = warehouse.state()
    changed = _changed_columns(nhs.epd["2017-10"], rename=("ITEMS", "NUMBER_OF_ITEMS"))
    nhs.site.file(nhs.epd_paths["2017-10"], changed)
    nhs.epd_json["result"]["resources"][2]["size"] = len(changed)
    nhs.serve_epd_json()
    with pytest.raises(SchemaChanged) as info:
        fetcher.fetch("epd", ["2017-10"])
    message = str(info.value)
    assert "columns have changed: missing ITEMS; new NUMBER_OF_ITEMS" in message
    assert "EPD (2017 layout)" in message and "nothing was loaded" in message and "\n" not in message
    assert info.value.missing == ["ITEMS"] and info.value.new == ["NUMBER_OF_ITEMS"]
    assert warehouse.state() == before
    assert _count(warehouse, "SELECT DISTINCT strftime(month, '%Y-%m') FROM prescribing") == [("2017-09",)]


def test_an_added_column_is_loaded_with_a_note(nhs, fetcher, warehouse, rows_in):
    changed = _changed_columns(nhs.epd["2017-10"], add="SNOMED_CODE")
    nhs.site.file(nhs.epd_paths["2017-10"], changed)
    nhs.epd_json["result"]["resources"][2]["size"] = len(changed)
    nhs.serve_epd_json()
    (outcome,) = fetcher.fetch("epd", ["2017-10"])
    assert outcome.action == "loaded"
    assert any("new SNOMED_CODE" in n for n in outcome.notes)
    assert _count(warehouse, "SELECT count(*) FROM prescribing")[0][0] == rows_in(nhs.epd["2017-10"])


def test_a_truncated_file_is_refused_and_nothing_is_loaded(nhs, fetcher, warehouse, home):
    data = nhs.epd["2017-09"].read_bytes()
    nhs.site.file(nhs.epd_paths["2017-09"], data[:150_000])
    with pytest.raises(VerifyError) as info:
        fetcher.fetch("epd", ["2017-09"])
    assert "downloaded 150,000 bytes but the publisher says the file has 250,113" in str(info.value)
    assert warehouse.state()["loads"] == [] and _downloads(home) == []


def test_a_corrupted_file_fails_its_checksum_and_nothing_is_loaded(nhs, fetcher, warehouse, home):
    data = bytearray(nhs.epd["2017-09"].read_bytes())
    data[-100] ^= 0x55
    nhs.site.file(nhs.epd_paths["2017-09"], bytes(data))
    with pytest.raises(VerifyError, match="the sha256 checksum"):
        fetcher.fetch("epd", ["2017-09"])
    assert warehouse.state()["loads"] == [] and _downloads(home) == []


# --- update ---------------------------------------------------------------------------------------------


def test_update_twice_the_second_fetches_and_loads_nothing(nhs, fetcher, warehouse, home):
    outcomes, errors = fetcher.update(since="2016-01")
    assert errors == {}
    assert sorted((o.source, o.period, o.action) for o in outcomes) == [
        ("epd", "2017-09", "loaded"), ("epd", "2017-10", "loaded"), ("list-sizes", "2016-01", "loaded"),
        ("ods", "current", "loaded"), ("qof", "2018-19", "loaded"), ("scmd", "2019-01", "loaded"),
        ("scmd", "2019-02", "loaded"), ("scmd", "2019-03", "loaded")]
    state = warehouse.state()
    assert len(state["loads"]) == 8
    nhs.site.clear()
    outcomes, errors = Fetcher(home, fetcher.settings).update()
    assert errors == {}
    assert [(o.source, o.action) for o in outcomes] == [("ods", "not_modified")]
    assert warehouse.state() == state
    # only the listings were read, and the ODS file asked for conditionally (304): no file was downloaded
    assert all(r["status"] in (200, 304) for r in nhs.site.requests())
    assert {r["path"] for r in nhs.site.requests()} == {nhs.ODS_REPORT, nhs.EPD_API, nhs.SCMD_API, nhs.LIST_SERIES, nhs.QOF_SERIES}


def test_update_with_nothing_loaded_takes_the_latest_period(nhs, fetcher):
    outcomes, errors = fetcher.update(("epd", "scmd"))
    assert errors == {} and [(o.source, o.period) for o in outcomes] == [("epd", "2017-10"), ("scmd", "2019-03")]


def test_update_fetches_only_what_is_newer_than_the_last_load(nhs, fetcher):
    fetcher.fetch("epd", ["2017-09"])
    outcomes, _ = fetcher.update(("epd",))
    assert [(o.period, o.action) for o in outcomes] == [("2017-10", "loaded")]


def test_update_goes_on_when_a_publisher_is_down(nhs, fetcher, make_settings, home, warehouse):
    nhs.site.routes[nhs.LIST_SERIES].script = [("fail", 503)] * 3
    nhs.site.routes[nhs.QOF_SERIES].script = [("fail", 503)] * 3
    outcomes, errors = fetcher.update(since="2017-09")
    assert sorted(errors) == ["list-sizes", "qof"] and "HTTP 503" in errors["qof"]
    assert {o.source for o in outcomes if o.action == "loaded"} == {"ods", "epd", "scmd"}


def test_a_source_stops_at_its_first_failure(nhs, fetcher, warehouse):
    nhs.site.routes[nhs.epd_paths["2017-09"]].script = [("fail", 500)] * 3
    outcomes, errors = fetcher.update(("epd",), since="2017-09")
    assert "HTTP 500" in errors["epd"] and outcomes == []
    assert warehouse.state()["loads"] == []  # 2017-10 was not loaded past the month that failed


def _zip_resource(nhs, member_name: str, member: bytes) -> bytes:
    """Publish EPD_201710 as NHSBSA publishes EPD with SNOMED codes: one ZIP holding the CSV."""
    import io
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr(member_name, member)
    archive = buffer.getvalue()
    resource = nhs.epd_json["result"]["resources"][2]
    resource.update(name="EPD_SNOMED_201710", format="ZIP", size=len(archive), hash="",
                    url=resource["url"].replace("epd_201710.csv.gz", "EPD_SNOMED_201710.ZIP"))
    nhs.site.file(_url_path(nhs, resource["url"]), archive)
    nhs.serve_epd_json()
    return archive


def _url_path(nhs, url: str) -> str:
    from urllib.parse import urlsplit

    return urlsplit(nhs.site.rewrite(url)).path


def test_a_zip_resource_is_unpacked_and_loaded(nhs, fetcher, warehouse, home, rows_in):
    member = gzip.decompress(nhs.epd["2017-10"].read_bytes())
    _zip_resource(nhs, "EPD_SNOMED_201710.csv", member)
    (outcome,) = fetcher.fetch("epd", ["2017-10"])
    assert outcome.action == "loaded" and outcome.files[0]["member"] == "EPD_SNOMED_201710.csv"
    assert _count(warehouse, "SELECT count(*) FROM prescribing")[0][0] == rows_in(nhs.epd["2017-10"])
    assert warehouse.state()["loads"][0]["sha256"] == hashlib.sha256(member).hexdigest()
    assert _downloads(home) == []  # the ZIP and the file taken out of it, both removed once loaded


def test_a_changed_schema_inside_a_zip_names_the_member(nhs, fetcher, warehouse):
    member = gzip.decompress(nhs.epd["2017-10"].read_bytes()).replace(b"BNF_CODE,", b"BNF_PRESENTATION_CODE,", 1)
    _zip_resource(nhs, "EPD_SNOMED_201710.csv", member)
    with pytest.raises(SchemaChanged) as info:
        fetcher.fetch("epd", ["2017-10"])
    assert "EPD_SNOMED_201710.ZIP!EPD_SNOMED_201710.csv:1:" in str(info.value)
    assert info.value.missing == ["BNF_CODE"] and info.value.new == ["BNF_PRESENTATION_CODE"]
    assert warehouse.state()["loads"] == []
