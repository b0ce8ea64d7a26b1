"""The nudge engine: playbook rules that turn signals and speech into prompts for the agent."""
