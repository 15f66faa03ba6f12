"""Agent-framework integrations for the AgentDraft coordinator.

Each framework lives in its own module and is imported only when used, so a
LangChain user never imports CrewAI or AutoGen. Install the extra you need:
``pip install 'agentdraft-agents[langchain]'`` (or ``langgraph``, ``crewai``,
``autogen``, ``mcp``).
"""

__all__: list[str] = []
