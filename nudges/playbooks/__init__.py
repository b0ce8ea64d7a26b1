"""Playbooks that ship with CareCue (YAML; loaded with ``nudges.playbook.load_playbook``)."""
