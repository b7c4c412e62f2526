import type { UserWorkspaceConfig } from 'vitest/config';
export declare function vitestProject(name: string, test?: UserWorkspaceConfig['test']): UserWorkspaceConfig;
