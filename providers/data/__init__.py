"""Shared data: the ID photo spec catalog (``idphoto_specs.yaml``, shared by every ID photo
provider) and the papers print sheets are made on (``print_papers.yaml``)."""
