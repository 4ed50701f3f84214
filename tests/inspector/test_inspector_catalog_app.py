"""The inspector's catalog (ids of a source, cases on demand), its page widgets and the CLI's argument checks."""

from __future__ import annotations

import pytest

from softnodule.cli import main
from softnodule.inspector.catalog import UnknownNoduleError


def test_catalog_lists_every_phantom_nodule_and_builds_cases_on_demand(phantom_catalog, nodule_index):
    assert phantom_catalog.name == "phantom"
    assert phantom_catalog.ids == sorted(r.nodule_id for r in nodule_index.records)
    first = phantom_catalog.resolve(None)
    case = phantom_catalog.case(first)
    assert case.case_id == f"{first}@phantom" and case.true_alpha is not None and len(case.readers) >= 1
    assert phantom_catalog.case(first) is case  # kept, not rebuilt


def test_catalog_keeps_only_the_last_few_cases(nodule_index):
    from softnodule.data.sources.nodule_sources import open_nodule_source
    from softnodule.inspector import CaseCatalog

    catalog = CaseCatalog(open_nodule_source("phantom", nodule_index), keep=2)
    a, b, c = catalog.ids[:3]
    first = catalog.case(a)
    catalog.case(b)
    catalog.case(c)
    assert list(catalog._cases) == [b, c]
    assert catalog.case(a) is not first


def test_an_unknown_nodule_is_named_with_valid_ids(phantom_catalog):
    with pytest.raises(UnknownNoduleError, match=r"'LIDC-IDRI-0001/n99' is not in image source 'phantom'.*e\.g\. LIDC-IDRI-0001/"):
        phantom_catalog.resolve("LIDC-IDRI-0001/n99")


def test_the_page_has_a_case_picker_and_every_slider_with_dom_classes(phantom_catalog):
    from softnodule.inspector.app import inspector

    page = inspector(phantom_catalog, phantom_catalog.ids[3])

    def walk(w):
        yield w
        for child in getattr(w, "children", ()):
            yield from walk(child)

    by_class = {c: w for w in walk(page) for c in w._dom_classes}
    for name in ("nodule-id", "erode", "dilate", "log-eps", "radius", "threshold", "readers", "figure"):
        assert f"softnodule-{name}" in by_class, name
    picker = by_class["softnodule-nodule-id"]
    assert picker.value == phantom_catalog.ids[3] and len(picker.options) == len(phantom_catalog.ids)


def test_show_matte_outlines_each_reader_when_asked(phantom_catalog):
    import matplotlib.pyplot as plt

    from softnodule.widgets import show_matte

    case = phantom_catalog.case(phantom_catalog.ids[0])
    plain, outlined = show_matte(case), show_matte(case, readers=True)
    assert len(outlined.axes[0].collections) > len(plain.axes[0].collections)
    assert f"{len(case.readers)} readers" in outlined.axes[0].get_title()
    plt.close("all")


def test_the_inspect_command_rejects_an_unknown_nodule_before_serving(nodule_index, capsys):
    assert main(["inspect", "LIDC-IDRI-0001/n99", "--source", "phantom"]) == 2
    assert "is not in image source 'phantom'" in capsys.readouterr().err


def test_a_dicom_catalog_lists_only_nodules_whose_key_slice_is_on_disk(lidc_slabs, nodule_index):
    from softnodule.inspector import open_catalog
    from softnodule.inspector.app import case_caption

    catalog = open_catalog("lidc-dicom")
    assert catalog.ids and all(i.startswith(("LIDC-IDRI-0001/", "LIDC-IDRI-0002/")) for i in catalog.ids)
    case = catalog.case(catalog.ids[0])
    assert case.source == "lidc-dicom" and case.true_alpha is None
    assert "(real CT)" in case_caption(case) and f"{len(case.readers)} readers" in case_caption(case)
