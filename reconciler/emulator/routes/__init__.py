"""One module per resource; each exposes an APIRouter named `router`."""
