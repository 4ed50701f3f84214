"""The trimap / matte inspector as a standalone web page: ``softnodule inspect [NODULE_ID] [--source S]``.

* `catalog` - which nodules one image source can show, each case built on demand;
* `app` - the page's widgets: a case picker over the source and the matting sliders, drawn by the
  same pure `softnodule.widgets.show_matte` the notebooks use;
* `server` - Voilà serving ``inspector.ipynb`` (shipped in this folder) on a free loopback port.
"""

from .catalog import CaseCatalog, open_catalog
from .server import InspectorServer, serve

__all__ = ["CaseCatalog", "InspectorServer", "open_catalog", "serve"]
